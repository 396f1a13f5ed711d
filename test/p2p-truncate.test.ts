// A message larger than the receive buffer: ERR_TRUNCATE on that request only; bytes around
// the buffer untouched; the next message still arrives. Eager and rendezvous sizes, plain
// and registered receive buffers.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

for (const [kind, size] of [['plain', 1000], ['plain', 300_000], ['arena', 1000], ['arena', 3 << 20]] as const) {
  t.test(`${kind} receive buffer, ${size}-byte message`, async t => {
    allOk(t, await runRanks('truncate.ts', [kind, String(size)]), 2);
  });
}
