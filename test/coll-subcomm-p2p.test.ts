// Point-to-point on split() and dup() communicators (test/fixtures/coll/subcomm-p2p.ts):
// rank translation, status.source, ANY_SOURCE within the communicator, world and dup
// messages with the same tag never mixing, errors after free().
import t from 'tap';
import { allOk } from './support/p2p.js';
import { runColl } from './support/coll.js';

t.setTimeout(10 * 60_000);
for (const np of [2, 3, 5]) {
  t.test(`p2p on sub-communicators with ${np} ranks`, async t => {
    allOk(t, await runColl('subcomm-p2p.ts', [], np, { timeout: 120 }), np);
  });
}
