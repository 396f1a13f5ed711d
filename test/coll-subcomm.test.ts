// split (colors, keys, UNDEFINED), dup, free and nested splits, with collectives on them and
// collectives in flight on several communicators at once (posted in different orders on
// different ranks), on 1 to 6 ranks.
import t from 'tap';
import { allOk } from './support/p2p.js';
import { runColl } from './support/coll.js';

t.setTimeout(20 * 60_000);
for (const np of [1, 2, 3, 4, 6]) {
  t.test(`sub-communicators with ${np} ranks`, async t => {
    allOk(t, await runColl('subcomm.ts', [], np, { timeout: 120 }), np);
  });
}
