// 64 MiB payloads through allreduce, bcast, reduce, allgather and alltoall, both buffer kinds.
import t from 'tap';
import { allOk } from './support/p2p.js';
import { runColl } from './support/coll.js';

t.setTimeout(15 * 60_000);
for (const np of [2, 3]) {
  t.test(`64 MiB with ${np} ranks`, async t => {
    allOk(t, await runColl('large.ts', [], np, { timeout: 400 }), np);
  });
}
