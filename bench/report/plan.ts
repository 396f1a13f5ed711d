// The standard set npm run bench runs: every benchmark of the suite at 2 ranks and every
// collective at 4, with OSU's defaults except where a figure needs more (float64 sums up to
// 4 MiB for the allreduce target) or the time bound needs fewer iterations (stated per
// table in docs/benchmarks.md).

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

const collectives2: PlanEntry[] = [
  { test: 'barrier', np: 2, args: [] },
  { test: 'bcast', np: 2, args: [] },
  { test: 'reduce', np: 2, args: ['-T', 'mpi_double'] },
  { test: 'allreduce', np: 2, args: DOUBLE_TO_4MIB, note: 'float64 sum, up to 4 MiB (the issue\'s target sizes)' },
  { test: 'iallreduce', np: 2, args: DOUBLE_TO_4MIB, note: 'float64 sum, up to 4 MiB' },
  { test: 'gather', np: 2, args: [] },
  { test: 'allgather', np: 2, args: [] },
  { test: 'alltoall', np: 2, args: [] },
  { test: 'reduce_scatter', np: 2, args: ['-T', 'mpi_double'] },
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
