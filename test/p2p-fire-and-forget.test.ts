// Requests never awaited and never stored: the messages still arrive, and finalize
// completes them (plain and registered memory).
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

for (const kind of ['arena', 'plain']) {
  t.test(`dropped isend/irecv requests complete (${kind})`, async t => {
    allOk(t, await runRanks('fire-and-forget.ts', [kind]), 2);
  });
}
