// The per-message cost of isend/irecv/waitall in one process, without a peer: windows of 64
// irecv + 64 isend of 8 B from comm.alloc memory to this rank itself, then waitall. Run by
// bench/post-cost.sh under callgrind (instructions do not depend on the machine's load);
// alone it prints the medians of the per-operation times.
//   node bench/post-cost-window.mjs          (N=windows, default 6000; needs npm run build)
import { init } from '../dist/runtime/index.js';

const comm = await init();
const me = comm.rank;
const W = 64;
const N = Number(process.env.N ?? 6000);
const rb = comm.alloc(Uint8Array, 8);
const sb = comm.alloc(Uint8Array, 8);
const a = new Float64Array(N);
const b = new Float64Array(N);
const c = new Float64Array(N);
for (let i = 0; i < N; i++) {
  const reqs = [];
  const t0 = performance.now();
  for (let w = 0; w < W; w++) reqs.push(comm.irecv(rb, me, 5));
  const t1 = performance.now();
  for (let w = 0; w < W; w++) reqs.push(comm.isend(sb, me, 5));
  const t2 = performance.now();
  await comm.waitall(reqs);
  const t3 = performance.now();
  a[i] = ((t1 - t0) * 1000) / W;
  b[i] = ((t2 - t1) * 1000) / W;
  c[i] = ((t3 - t2) * 1000) / W / 2;
}
const med = (x, from, to) => Float64Array.from(x.subarray(from, to)).sort()[(to - from) >> 1].toFixed(3);
for (const [f, t] of [[0, Math.min(20, N)], [Math.min(20, N), Math.min(220, N)], [Math.max(0, N - 2000), N]]) {
  if (t > f) console.log(`windows ${f}-${t}: irecv ${med(a, f, t)} isend ${med(b, f, t)} waitall ${med(c, f, t)} us per operation (medians)`);
}
await comm.finalize();
