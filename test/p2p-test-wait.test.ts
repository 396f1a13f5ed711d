// test() and wait(): synchronous completion without the event loop (no await in the
// waiting loop), busy test() loops, and the request accessors before and after completion.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('test() and wait() drive completion synchronously', async t => {
  allOk(t, await runRanks('test-wait.ts'), 2);
});
