// The cost of one small blocking collective call, user style (`await comm.barrier()` in a
// loop, no barrier in between): barrier, bcast and allreduce of one float64, then a 1-byte
// send/recv round trip between ranks 0 and 1 for scale. N timed calls after W unmeasured;
// rank 0 prints the slowest rank's mean. With one rank nothing is sent: what remains is the
// call's own cost (JavaScript, the binding, the native schedule), docs/performance.md.
//   zcmpirun -np 1|2 bench/coll-call-cost.ts [N=100000] [W=20000]
import { init } from '../runtime/index.js';

const comm = await init();
const N = Number(process.argv[2] ?? 100000), W = Number(process.argv[3] ?? 20000);
const one = comm.alloc(Float64Array, 1), out = comm.alloc(Float64Array, 1);
const s = comm.alloc(Uint8Array, 1), r = comm.alloc(Uint8Array, 1);

async function time(name: string, f: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < W; i++) await f();
  await comm.barrier();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await f();
  const mine = new Float64Array([((performance.now() - t0) * 1000) / N]);
  const slowest = new Float64Array(1);
  await comm.allreduce(mine, slowest, 'max');
  if (comm.rank === 0) console.log(`${name} np=${comm.size}: ${slowest[0].toFixed(2)} us`);
}

await time('barrier', () => comm.barrier());
await time('bcast 8 B', () => comm.bcast(one, 0));
await time('allreduce 8 B', () => comm.allreduce(one, out, 'sum'));
if (comm.size > 1) {
  await time('send/recv 1 B round trip', async () => {
    if (comm.rank === 0) { await comm.send(s, 1, 0); await comm.recv(r, 1, 0); }
    else if (comm.rank === 1) { await comm.recv(r, 0, 0); await comm.send(s, 0, 0); }
  });
}
await comm.finalize();
