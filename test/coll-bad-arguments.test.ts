// Unknown ops, bitwise ops on floats, element-type mismatches, too-small buffers, bad roots,
// counts and displacements, untyped reductions, JavaScript ops on non-blocking forms and
// misplaced IN_PLACE throw ArgumentErrors naming the argument, at the call, on every rank.
import t from 'tap';
import { allOk } from './support/p2p.js';
import { runColl } from './support/coll.js';

t.setTimeout(10 * 60_000);
for (const np of [1, 3]) {
  t.test(`bad arguments with ${np} ranks`, async t => {
    allOk(t, await runColl('bad-arguments.ts', [], np, { timeout: 90 }), np);
  });
}
