// MPI's non-overtaking rule: messages from one source with one tag match receives in the
// order they were sent, eager and rendezvous sizes interleaved.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('200 messages with one tag arrive in send order', async t => {
  allOk(t, await runRanks('ordering.ts', ['nonovertaking']), 2);
});
