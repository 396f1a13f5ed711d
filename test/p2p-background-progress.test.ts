// The native progress thread completes transfers while JavaScript is busy in a synchronous
// loop (no progress calls, no event loop): a 4 MiB rendezvous send and its receive.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('transfers complete while both JavaScript threads are busy', async t => {
  allOk(t, await runRanks('background.ts'), 2);
});
