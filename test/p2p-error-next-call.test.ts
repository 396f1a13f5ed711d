// The error of a dropped request is thrown by the next call, once.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('a dropped request\'s error surfaces at the next call', async t => {
  allOk(t, await runRanks('unseen-errors.ts', ['next']), 2);
});
