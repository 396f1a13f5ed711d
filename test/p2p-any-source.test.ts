// ANY_SOURCE with 4 ranks: every sender's messages arrive, intact, per source in order, and
// the status names the sender.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('ANY_SOURCE receives from 3 senders', async t => {
  allOk(t, await runRanks('ordering.ts', ['anysource'], { np: 4 }), 4);
});
