// Blocking send/recv that complete inside the call do not starve timers and I/O: the event
// loop turns at least every few milliseconds of such calls (Engine.starvingLoop).
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('a timer fires during a long ping-pong of blocking calls', async t => {
  allOk(t, await runRanks('timers-during-pingpong.ts'), 2);
});
