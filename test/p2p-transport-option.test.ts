// --transport: auto and ucx run on UCX on a machine without an RDMA device; verbs there is a
// clear error naming what was looked for (the verbs transport itself: test/verbs-vm.test.ts).
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { allOk, runRanks } from './support/p2p.js';

const rdma = existsSync('/sys/class/infiniband') && readdirSync('/sys/class/infiniband').length > 0;

for (const transport of ['auto', 'ucx']) {
  t.test(`--transport ${transport} uses ${transport === 'auto' && rdma ? 'verbs' : 'ucx'}`, async t => {
    const r = await runRanks('init-transport.ts', [], { transport });
    allOk(t, r, 2);
    t.match(r.stdout, new RegExp(`^transport 0 ${transport === 'auto' && rdma ? 'verbs' : 'ucx'}$`, 'm'));
  });
}

t.test('--transport verbs without an RDMA device fails at init naming what was looked for', { skip: rdma ? 'this machine has an RDMA device' : false }, async t => {
  const r = await runRanks('init-transport.ts', [], { transport: 'verbs' });
  t.not(r.code, 0);
  t.match(r.stdout, /init-error ERR_TRANSPORT_UNAVAILABLE zcmpi: the verbs transport cannot start: no RDMA device.*looked for an RDMA device with an active port/);
});

t.test('--rdma-device with a malformed value is a usage error', async t => {
  const r = await runRanks('init-transport.ts', [], { launcher: ['--rdma-device', 'rxe0:zero'] });
  t.not(r.code, 0);
  t.match(r.stderr, /--rdma-device: expected NAME or NAME:PORT/);
});
