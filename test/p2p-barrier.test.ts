// The native dissemination barrier with 3 and 4 ranks (non-power-of-two and power of two):
// nobody leaves before the last rank entered; back-to-back and concurrent barriers.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

for (const np of [3, 4]) {
  t.test(`barrier with ${np} ranks`, async t => {
    allOk(t, await runRanks('barrier.ts', [], { np }), np);
  });
}
