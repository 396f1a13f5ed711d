// osu_iallreduce, as OSU 7.4 measures a non-blocking collective's overlap:
//   1. pure communication: post, wait at once; per-iteration time as for blocking ones.
//   2. the same with compute placed between post and wait, sized to take as long as the
//      pure communication did (OSU's dummy_compute: a 25x25 float kernel repeated until
//      that much time has been spent in it; no MPI_Test calls, OSU's default).
// Per rank: Overall = Coll. Init + Compute + MPI_Test + MPI_Wait (phase 2 per iteration);
// averaged over ranks, min/max of the pure communication over ranks, and
//   Overlap(%) = max(0, 100 - (Overall - (Compute - Test)) / Pure Comm * 100).
// The collective must progress while this thread computes: zcmpi's schedules run on native
// threads, so a high overlap is the point of the guard.

import { collective } from './collectives.js';
import type { Context, Size } from './context.js';

const DIM = 25;
const a = new Float32Array(DIM * DIM).fill(1);
const x = new Float32Array(DIM);
const y = new Float32Array(DIM).fill(1);

/** One pass of OSU's compute_on_host kernel. */
function computeOnHost(): void {
  for (let i = 0; i < DIM; i++) {
    for (let j = 0; j < DIM; j++) x[i] = x[i] + a[i * DIM + j] * a[j * DIM + i] + y[j];
  }
}

/** OSU's do_compute_cpu: run the kernel until `ms` have been spent in it. */
function compute(ms: number): void {
  let elapsed = 0;
  while (elapsed < ms) {
    const t1 = performance.now();
    computeOnHost();
    elapsed += performance.now() - t1;
  }
}

export async function runNonBlocking(ctx: Context): Promise<void> {
  const { comm, o } = ctx;
  const iallreduce = collective(comm, 'iallreduce', o.test.name);
  const sizes = ctx.sizes();
  const max = Math.max(1, ...sizes.map(s => s.elements));
  const send = ctx.buffer(max, 1);
  const recv = ctx.buffer(max, 0);

  /** Phase 1: ms per iteration of post + wait on this rank. */
  const pure = async (s: Size, iterations: number, skip: number): Promise<number> => {
    const a = send.subarray(0, s.elements), b = recv.subarray(0, s.elements);
    let timer = 0;
    for (let i = 0; i < iterations + skip; i++) {
      const t0 = performance.now();
      iallreduce(a, b, 'sum').wait();
      const t1 = performance.now();
      await comm.barrier();
      if (i >= skip) timer += t1 - t0;
    }
    return timer / iterations;
  };

  if (o.jitWarmup > 0 && sizes.length > 0) {
    await comm.barrier();
    await pure(sizes[0], o.jitWarmup, 0);
    compute(1); // the kernel, too, is compiled before it is timed
  }
  ctx.printer.header();
  for (const [index, s] of sizes.entries()) {
    await comm.barrier();
    const commMs = await pure(s, s.iterations, s.skip);
    await comm.barrier();
    const sa = send.subarray(0, s.elements), rb = recv.subarray(0, s.elements);
    let overall = 0, init = 0, comp = 0, wait = 0;
    for (let i = 0; i < s.iterations + s.skip; i++) {
      const t0 = performance.now();
      const req = iallreduce(sa, rb, 'sum');
      const t1 = performance.now();
      compute(commMs);
      const t2 = performance.now();
      req.wait();
      const t3 = performance.now();
      await comm.barrier();
      if (i >= s.skip) {
        overall += t3 - t0;
        init += t1 - t0;
        comp += t2 - t1;
        wait += t3 - t2;
      }
    }
    const us = (ms: number) => (ms * 1000) / s.iterations;
    const avg = async (v: number) => (await ctx.acrossRanks(v)).avg;
    const pureUs = commMs * 1000;
    const commStats = await ctx.acrossRanks(pureUs);
    const row = {
      overall: await avg(us(overall)), compute: await avg(us(comp)), init: await avg(us(init)),
      test: 0, wait: await avg(us(wait)),
    };
    const overlap = Math.max(0, 100 - ((row.overall - (row.compute - row.test)) / commStats.avg) * 100);
    ctx.printer.nonBlocking({
      size: s.bytes, ...row, pureComm: commStats.avg, minComm: commStats.min, maxComm: commStats.max, overlap,
      iterations: s.iterations, skip: s.skip,
    });
    await comm.barrier();
    ctx.done(s, index, sizes.length);
  }
}
