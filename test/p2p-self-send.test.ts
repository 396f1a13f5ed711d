// dest == own rank, receive posted before and after the send, small and rendezvous sizes;
// run in a 2-rank job and as a singleton (no launcher).
import t from 'tap';
import { allOk, runRanks, runSingleton } from './support/p2p.js';

t.test('self-send in a 2-rank job', async t => {
  allOk(t, await runRanks('self-send.ts'), 2);
});

t.test('self-send in a singleton (node program.ts, no zcmpirun)', async t => {
  const r = await runSingleton('self-send.ts');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^ok 0$/m);
});
