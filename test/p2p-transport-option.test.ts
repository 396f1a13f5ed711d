// --transport: auto and ucx run on UCX; verbs is not built yet and init says so.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

for (const transport of ['auto', 'ucx']) {
  t.test(`--transport ${transport} uses ucx`, async t => {
    const r = await runRanks('init-transport.ts', [], { transport });
    allOk(t, r, 2);
    t.match(r.stdout, /^transport 0 ucx$/m);
  });
}

t.test('--transport verbs fails at init with a clear error', async t => {
  const r = await runRanks('init-transport.ts', [], { transport: 'verbs' });
  t.not(r.code, 0);
  t.match(r.stdout, /init-error ERR_TRANSPORT_UNAVAILABLE zcmpi: init: the verbs transport is not available yet/);
});
