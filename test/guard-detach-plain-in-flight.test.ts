// In-flight memory cannot vanish: the plain ArrayBuffer of a pending receive is moved away
// with a transfer list (structuredClone, postMessage to a worker thread) and dropped. It is
// detached; its memory stays alive and guarded until the receive completes: a read through
// the new owner, even in the worker, waits for the data, and buffers allocated after the
// drop are never written by the receive.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

for (const how of ['clone', 'worker']) {
  t.test(`plain buffer moved by ${how} while a receive is in flight`, async t => {
    allOk(t, await runRanks('../guard/detach-in-flight.ts', ['plain', how], { guard: 'block', timeout: 25 }), 2);
  });
}
