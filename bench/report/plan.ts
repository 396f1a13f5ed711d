// The standard set npm run bench runs: every benchmark of the suite at 2 ranks and every
// collective at 4, with OSU's defaults except where a figure needs more (float64 sums up to
// 4 MiB for the allreduce target) or the time bound needs fewer iterations (stated per
// table in docs/benchmarks.md). --quick replaces the counts (the last -i/-x wins).

import type { TestName } from '../osu/catalog.js';

export interface PlanEntry {
  test: TestName;
  np: number;
  /** Arguments passed to all three systems alike. */
  args: string[];
  /** Why this entry deviates from OSU's defaults, if it does (printed under its table). */
  note?: string;
}

const DOUBLE_TO_4MIB = ['-T', 'mpi_double', '-m', '8:4194304'];
/**
 * Collectives: OSU's large-message counts (100 iterations after 10 warm-up) at every size,
 * and 500 JIT warm-up iterations, so that 18 collective entries x 3 systems x 3 runs fit the
 * time bound on a 2-CPU machine (OSU's 1000 small-message iterations, each followed by a
 * barrier, take minutes per run with 4 ranks on 2 CPUs).
 */
const COLL = ['-i', '100', '-x', '10', '--jit-warmup', '500'];
const BOUNDED = 'OSU\'s large-message iteration counts at every size, to bound the run time';

const collectives2: PlanEntry[] = [
  { test: 'barrier', np: 2, args: COLL, note: BOUNDED },
  { test: 'bcast', np: 2, args: COLL, note: BOUNDED },
  { test: 'reduce', np: 2, args: ['-T', 'mpi_double', ...COLL], note: BOUNDED },
  { test: 'allreduce', np: 2, args: [...DOUBLE_TO_4MIB, ...COLL], note: `float64 sum up to 4 MiB (the issue's target sizes); ${BOUNDED}` },
  { test: 'iallreduce', np: 2, args: [...DOUBLE_TO_4MIB, ...COLL], note: `float64 sum up to 4 MiB; ${BOUNDED}` },
  { test: 'gather', np: 2, args: COLL, note: BOUNDED },
  { test: 'allgather', np: 2, args: COLL, note: BOUNDED },
  { test: 'alltoall', np: 2, args: COLL, note: BOUNDED },
  { test: 'reduce_scatter', np: 2, args: ['-T', 'mpi_double', ...COLL], note: BOUNDED },
];

export const STANDARD_PLAN: PlanEntry[] = [
  { test: 'latency', np: 2, args: [] },
  { test: 'bw', np: 2, args: [] },
  { test: 'bibw', np: 2, args: [] },
  ...collectives2,
  ...collectives2.map(e => ({ ...e, np: 4 })),
];

/**
 * --quick: a tenth of OSU's iterations (at least 10) and warm-ups, for a smoke run in a few
 * minutes; the tables say so.
 */
export function quickArgs(test: TestName): string[] {
  if (test === 'latency') return ['-i', '1000', '-x', '10', '--jit-warmup', '500'];
  if (test === 'bw' || test === 'bibw') return ['-i', '10', '-x', '2', '--jit-warmup', '100'];
  return ['-i', '100', '-x', '10', '--jit-warmup', '200'];
}

/**
 * --plan targets: only what issue 9's targets are judged by, so that a run with several
 * repetitions fits a shared 2-CPU machine's quiet moments: allreduce float64 at 1-4 MiB and
 * iallreduce's overlap at 1 MiB on 2 ranks, iallreduce at 1 MiB and bcast, allgather and
 * alltoall from 1 KiB to 1 MiB on 4 ranks, and reduce past its Rabenseifner switch.
 */
export const TARGETS_PLAN: PlanEntry[] = [
  { test: 'allreduce', np: 2, args: ['-T', 'mpi_double', '-m', '1048576:4194304', ...COLL], note: `float64 sum, the target sizes; ${BOUNDED}` },
  { test: 'iallreduce', np: 2, args: ['-T', 'mpi_double', '-m', '1048576:1048576', ...COLL], note: `float64 sum, the target size; ${BOUNDED}` },
  { test: 'bcast', np: 4, args: ['-m', '1024:1048576', ...COLL], note: BOUNDED },
  { test: 'allgather', np: 4, args: ['-m', '1024:1048576', ...COLL], note: BOUNDED },
  { test: 'alltoall', np: 4, args: ['-m', '1024:1048576', ...COLL], note: BOUNDED },
  { test: 'reduce', np: 4, args: ['-T', 'mpi_double', '-m', '16384:1048576', ...COLL], note: `float64 sum, both sides of the Rabenseifner switch (64 KiB); ${BOUNDED}` },
  { test: 'iallreduce', np: 4, args: ['-T', 'mpi_double', '-m', '1048576:1048576', ...COLL], note: `float64 sum; ${BOUNDED}` },
];
