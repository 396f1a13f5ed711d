// When does an iallreduce finish while the JavaScript thread is busy? Posts it, then works
// (no zcmpi call but `done`, which only reads the shared completion state) for up to 20 ms,
// and records when it was first seen done (and how long the post itself took); compares
// with post + wait at once. The work:
// `compute` (a Math.sqrt loop), `kernel` (osu_iallreduce's 25x25 float kernel) or `sleep`
// (Atomics.wait, the CPU left free). Medians over the iterations, each after a barrier; 10
// unmeasured post + wait calls first. The diagnostic behind the progress hand-off at a
// non-blocking collective's post (docs/benchmarks.md, notes).
//   zcmpirun -np 2 bench/coll-overlap-probe.ts [bytes] [iterations] [compute|kernel|sleep]
import { init } from '../runtime/index.js';

const comm = await init();
const bytes = Number(process.argv[2] ?? 1 << 20);
const iters = Number(process.argv[3] ?? 50);
const mode = process.argv[4] ?? 'compute';
if (!['compute', 'kernel', 'sleep'].includes(mode)) throw new Error(`mode must be compute, kernel or sleep (got ${mode})`);
const DIM = 25;
const ka = new Float32Array(DIM * DIM).fill(1), kx = new Float32Array(DIM), ky = new Float32Array(DIM).fill(1);
function kernel(): void {
  for (let i = 0; i < DIM; i++) for (let j = 0; j < DIM; j++) kx[i] = kx[i] + ka[i * DIM + j] * ka[j * DIM + i] + ky[j];
}
const nap = new Int32Array(new SharedArrayBuffer(4));
const n = bytes / 8;
const s = comm.alloc(Float64Array, n), r = comm.alloc(Float64Array, n);
s.fill(1);
const pure: number[] = [], seen: number[] = [], posts: number[] = [];
for (let i = 0; i < 10; i++) comm.iallreduce(s, r, 'sum').wait();
for (let i = 0; i < iters; i++) {
  await comm.barrier();
  let t0 = performance.now();
  comm.iallreduce(s, r, 'sum').wait();
  pure.push(performance.now() - t0);
  await comm.barrier();
  t0 = performance.now();
  const req = comm.iallreduce(s, r, 'sum');
  posts.push(performance.now() - t0);
  let x = 0, at = -1;
  while (performance.now() - t0 < 20) {
    if (mode === 'sleep') Atomics.wait(nap, 0, 0, 0.05);
    else if (mode === 'kernel') kernel();
    else for (let k = 0; k < 200; k++) x += Math.sqrt(k + x);
    if (req.done) { at = performance.now() - t0; break; }
  }
  req.wait();
  seen.push(at < 0 ? performance.now() - t0 : at);
  if (x === -1) console.log(x);
}
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
console.log(`rank ${comm.rank}: ${bytes} B post alone median ${(med(posts) * 1000).toFixed(0)} us; pure post+wait median ${(med(pure) * 1000).toFixed(0)} us; done while computing after median ${(med(seen) * 1000).toFixed(0)} us (min ${(Math.min(...seen) * 1000).toFixed(0)}, max ${(Math.max(...seen) * 1000).toFixed(0)})`);
await comm.finalize();
