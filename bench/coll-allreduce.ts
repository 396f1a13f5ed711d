// allreduce float64 sum, 1 MiB and 4 MiB: the average time of 200 calls after 20 unmeasured
// ones and a barrier, as an MPI C loop measures it (issue 9's target: at most 1.5x Open MPI).
//   zcmpirun -np 2 bench/coll-allreduce.ts [alloc|plain]
import { init } from '../runtime/index.js';

const comm = await init();
const kind = process.argv[2] === 'plain' ? 'plain' : 'alloc';
for (const bytes of [1 << 20, 4 << 20]) {
  const n = bytes / 8;
  const s = kind === 'alloc' ? comm.alloc(Float64Array, n) : new Float64Array(n);
  const r = kind === 'alloc' ? comm.alloc(Float64Array, n) : new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = comm.rank + i;
  for (let i = 0; i < 20; i++) await comm.allreduce(s, r, 'sum');
  await comm.barrier();
  const t0 = performance.now();
  const iters = 200;
  for (let i = 0; i < iters; i++) await comm.allreduce(s, r, 'sum');
  const us = ((performance.now() - t0) / iters) * 1000;
  if (comm.rank === 0) console.log(`zcmpi (${kind}) allreduce f64 sum ${bytes} bytes: ${us.toFixed(1)} us`);
}
await comm.finalize();
