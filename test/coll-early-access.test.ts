// Reading or refilling a non-blocking collective's buffers right after posting gives what
// the blocking call gives (guards), for every non-blocking collective and both buffer kinds.
import t from 'tap';
import { allOk } from './support/p2p.js';
import { runColl } from './support/coll.js';

t.setTimeout(20 * 60_000);
for (const np of [1, 2, 3, 4]) {
  t.test(`early access with ${np} ranks`, async t => {
    allOk(t, await runColl('early-access.ts', [], np, { timeout: 180 }), np);
  });
}
