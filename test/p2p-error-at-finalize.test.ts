// The error of a dropped request, with no later call, is thrown by finalize (which still
// finalizes).
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('a dropped request\'s error surfaces at finalize', async t => {
  allOk(t, await runRanks('unseen-errors.ts', ['finalize']), 2);
});
