// Different roots, ops, counts, element types or collectives across ranks (including large
// payloads whose sends can never be received, a JavaScript op against a built-in one, and
// v-variant counts only the root can check) fail on every rank with ERR_MISMATCH naming the
// difference, without a hang; the communicator keeps working.
import t from 'tap';
import { allOk } from './support/p2p.js';
import { runColl } from './support/coll.js';

t.setTimeout(20 * 60_000);
for (const np of [2, 3, 4, 5]) {
  t.test(`mismatches with ${np} ranks`, async t => {
    allOk(t, await runColl('mismatch.ts', [], np, { timeout: 120 }), np);
  });
}
