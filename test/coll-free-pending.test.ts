// free() as MPI_Comm_free: receives pending at free() complete normally, and a message left
// unreceived on a freed communicator is not matched by a later communicator's wildcard
// receive (ids come back only after every other id was taken), on 2 and 3 ranks.
import t from 'tap';
import { allOk } from './support/p2p.js';
import { runColl } from './support/coll.js';

t.setTimeout(10 * 60_000);
for (const np of [2, 3]) {
  t.test(`free with pending operations, ${np} ranks`, async t => {
    allOk(t, await runColl('free-pending.ts', [], np, { timeout: 120 }), np);
  });
}
