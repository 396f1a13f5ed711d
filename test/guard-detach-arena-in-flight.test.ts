// In-flight memory cannot vanish: a comm.alloc buffer of a pending receive put in a
// transfer list (structuredClone, postMessage to a worker thread) is not detached (Node
// copies external memory instead; the copy waits for the data), and dropping every
// reference while the receive is in flight does not unmap the block before it completes.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

for (const how of ['clone', 'worker']) {
  t.test(`comm.alloc buffer moved by ${how} while a receive is in flight`, async t => {
    allOk(t, await runRanks('../guard/detach-in-flight.ts', ['arena', how], { guard: 'block', timeout: 25 }), 2);
  });
}
