// The non-blocking allreduce's pure communication time (post, then wait at once: OSU's
// "Pure Comm.") next to the blocking call's, alternating, same buffers, 2+ ranks:
//   zcmpirun -np 2 bench/coll-nb-vs-blocking.ts [bytes] [iters] [warmup] [both|nb]
// (nb: only the non-blocking loop, for a profiler)
// Prints, on rank 0, the mean and median of each (us) and the ratio; run it with
// --guard off too to see what the guards cost.
import { init } from '../runtime/index.js';

const bytes = Number(process.argv[2] ?? 1 << 20);
const iters = Number(process.argv[3] ?? 200);
const warmup = Number(process.argv[4] ?? 100);
const onlyNb = process.argv[5] === 'nb';
const comm = await init();
const n = bytes / 8;
const send = comm.alloc(Float64Array, n);
const recv = comm.alloc(Float64Array, n);
send.fill(1);
const blocking: number[] = [];
const nonblocking: number[] = [];
for (let i = 0; i < warmup + iters; i++) {
  let t = performance.now();
  if (!onlyNb) {
    await comm.barrier();
    t = performance.now();
    await comm.allreduce(send, recv, 'sum');
    if (i >= warmup) blocking.push((performance.now() - t) * 1000);
  }
  await comm.barrier();
  t = performance.now();
  await comm.iallreduce(send, recv, 'sum');
  if (i >= warmup) nonblocking.push((performance.now() - t) * 1000);
}
const stats = (a: number[]): string => {
  const s = [...a].sort((x, y) => x - y);
  const mean = a.reduce((x, y) => x + y, 0) / a.length;
  return `mean ${mean.toFixed(1)} median ${s[s.length >> 1].toFixed(1)}`;
};
if (comm.rank === 0) {
  const med = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1];
  if (onlyNb) console.log(`${bytes} B, guard ${comm.guard}: iallreduce+wait ${stats(nonblocking)}`);
  else console.log(`${bytes} B, guard ${comm.guard}: allreduce ${stats(blocking)}; iallreduce+wait ${stats(nonblocking)}; median ratio ${(med(nonblocking) / med(blocking)).toFixed(2)}`);
}
await comm.finalize();
