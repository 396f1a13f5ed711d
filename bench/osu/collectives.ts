// The blocking collective benchmarks, as OSU 7.4's osu_<name> measure them: per size, a
// barrier, then for every iteration: time the call, then a barrier (not timed); latency =
// measured time / iterations on every rank; rank 0 prints the average, min and max over
// ranks. Root 0, op sum, buffers filled once (OSU without -c). osu_barrier times the
// barrier itself, without the extra one.

import type { Communicator } from '../../runtime/index.js';
import type { TestName } from './catalog.js';
import type { Context, Elements, Size } from './context.js';
import { UsageError } from './options.js';

type Op = 'sum';

/** Issue 9's collective signatures (fixed names); the runtime provides them on Communicator. */
export interface CollectiveApi {
  barrier(): Promise<void>;
  bcast(buf: Elements, root: number): Promise<void>;
  reduce(send: Elements, recv: Elements | null, op: Op, root: number): Promise<void>;
  allreduce(send: Elements, recv: Elements, op: Op): Promise<void>;
  gather(send: Elements, recv: Elements | null, root: number): Promise<void>;
  allgather(send: Elements, recv: Elements): Promise<void>;
  alltoall(send: Elements, recv: Elements): Promise<void>;
  reduceScatter(send: Elements, recv: Elements, counts: number[], op: Op): Promise<void>;
  iallreduce(send: Elements, recv: Elements, op: Op): { wait(): unknown };
}

/** The runtime's method for a benchmark, or a clear error when this zcmpi has none. */
export function collective<K extends keyof CollectiveApi>(comm: Communicator, method: K, test: TestName): CollectiveApi[K] {
  const fn = (comm as unknown as Partial<CollectiveApi>)[method];
  if (typeof fn !== 'function') {
    throw new UsageError(`the ${test} benchmark needs comm.${method}(), which this zcmpi runtime does not have`);
  }
  return fn.bind(comm) as CollectiveApi[K];
}

/** osu_reduce_scatter's receive counts: num_elements spread over ranks, remainder first. */
export function reduceScatterCounts(elements: number, ranks: number): number[] {
  const portion = Math.floor(elements / ranks), remainder = elements % ranks;
  return Array.from({ length: ranks }, (_, i) => (elements < ranks ? (i < elements ? 1 : 0) : portion + (i < remainder ? 1 : 0)));
}

/** Buffers for every size at once (the largest), and the call that one size times. */
export function collectiveCall(ctx: Context, test: TestName, sizes: Size[]): (s: Size) => () => Promise<unknown> {
  const { comm } = ctx;
  const n = comm.size;
  const max = Math.max(1, ...sizes.map(s => s.elements));
  const perRank = test === 'gather' || test === 'allgather' || test === 'alltoall';
  const send = ctx.buffer(test === 'alltoall' ? max * n : max, 1);
  const recv = ctx.buffer(perRank ? max * n : max, 0);
  const part = (b: Elements, count: number) => b.subarray(0, count);
  switch (test) {
    case 'barrier': {
      const barrier = collective(comm, 'barrier', test);
      return () => barrier;
    }
    case 'bcast': {
      const bcast = collective(comm, 'bcast', test);
      return s => { const b = part(send, s.elements); return () => bcast(b, 0); };
    }
    case 'reduce': {
      const reduce = collective(comm, 'reduce', test);
      return s => { const a = part(send, s.elements), b = part(recv, s.elements); return () => reduce(a, b, 'sum', 0); };
    }
    case 'allreduce': {
      const allreduce = collective(comm, 'allreduce', test);
      return s => { const a = part(send, s.elements), b = part(recv, s.elements); return () => allreduce(a, b, 'sum'); };
    }
    case 'gather': {
      const gather = collective(comm, 'gather', test);
      return s => {
        const a = part(send, s.elements), b = comm.rank === 0 ? part(recv, s.elements * n) : null;
        return () => gather(a, b, 0);
      };
    }
    case 'allgather': {
      const allgather = collective(comm, 'allgather', test);
      return s => { const a = part(send, s.elements), b = part(recv, s.elements * n); return () => allgather(a, b); };
    }
    case 'alltoall': {
      const alltoall = collective(comm, 'alltoall', test);
      return s => { const a = part(send, s.elements * n), b = part(recv, s.elements * n); return () => alltoall(a, b); };
    }
    case 'reduce_scatter': {
      const reduceScatter = collective(comm, 'reduceScatter', test);
      return s => {
        const counts = reduceScatterCounts(s.elements, n);
        const a = part(send, s.elements), b = part(recv, counts[comm.rank]);
        return () => reduceScatter(a, b, counts, 'sum');
      };
    }
    default:
      throw new Error(`${test} is not a blocking collective benchmark`);
  }
}

export async function runCollective(ctx: Context): Promise<void> {
  const { comm, o } = ctx;
  const barrierTest = o.test.kind === 'barrier';
  // osu_barrier has one "size" with the collective counts for small messages.
  const sizes: Size[] = barrierTest
    ? [{ bytes: 0, elements: 0, iterations: o.counts.iterations, skip: o.counts.skip }]
    : ctx.sizes();
  const callFor = collectiveCall(ctx, o.test.name, sizes);

  /** Seconds this rank spent inside the measured calls. */
  const measure = async (s: Size, iterations: number, skip: number): Promise<number> => {
    const call = callFor(s);
    let timer = 0;
    for (let i = 0; i < iterations + skip; i++) {
      const t0 = performance.now();
      await call();
      const t1 = performance.now();
      if (!barrierTest) await comm.barrier();
      if (i >= skip) timer += t1 - t0;
    }
    return timer / 1000;
  };

  if (o.jitWarmup > 0 && sizes.length > 0) {
    await comm.barrier();
    await measure(sizes[0], o.jitWarmup, 0);
  }
  ctx.printer.header();
  for (const [index, s] of sizes.entries()) {
    await comm.barrier();
    const latency = ((await measure(s, s.iterations, s.skip)) * 1e6) / s.iterations;
    const { min, max, avg } = await ctx.acrossRanks(latency);
    ctx.printer.latency({ size: s.bytes, avg, min, max, iterations: s.iterations, skip: s.skip });
    await comm.barrier();
    ctx.done(s, index, sizes.length);
  }
}
