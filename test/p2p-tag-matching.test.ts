// Receives posted in the reverse order of the sends: each matches its own tag.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('out-of-order tags are matched by tag, not by arrival', async t => {
  allOk(t, await runRanks('ordering.ts', ['tags']), 2);
});
