// A send posted on bytes of a pending receive carries the received bytes, for registered
// and plain memory, small (handed to the transport inline) and large (zero-copy) messages,
// covering the receive exactly or partly; and nothing deadlocks (a small plain send used to
// fault on the receive's guard under the transport lock the completion needs).
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

for (const kind of ['arena', 'plain']) {
  t.test(`${kind}: every send carries the received bytes`, async t => {
    allOk(t, await runRanks('../guard/send-from-pending-recv.ts', [kind], { guard: 'block', timeout: 25 }), 2);
  });
}
