// The benchmarks bench/osu.ts runs, with the parameters OSU Micro-Benchmarks 7.4 gives each
// one (c/util/osu_util.h and osu_util.c there): title, default sizes, iterations and warm-up
// ("skip") below and above the large-message threshold, and which options apply.

/** OSU switches to the "large" iteration counts for sizes above this many bytes. */
export const LARGE_MESSAGE_SIZE = 8192;

/** The version of OSU Micro-Benchmarks whose output format the suite reproduces. */
export const OSU_VERSION = '7.4';

export type TestName =
  | 'latency' | 'bw' | 'bibw'
  | 'barrier' | 'bcast' | 'reduce' | 'allreduce' | 'gather' | 'allgather' | 'alltoall' | 'reduce_scatter'
  | 'iallreduce';

/** How a benchmark measures and prints (each kind has its own OSU header and row format). */
export type TestKind = 'latency' | 'bandwidth' | 'collective' | 'barrier' | 'nonblocking';

export interface Counts {
  iterations: number;
  skip: number;
  iterationsLarge: number;
  skipLarge: number;
}

export interface TestInfo {
  name: TestName;
  /** Header line text: `# OSU MPI <title> v7.4`. */
  title: string;
  kind: TestKind;
  /** Point-to-point benchmarks need exactly 2 ranks, collectives at least 2 (as OSU). */
  ranks: 'exactly-2' | 'at-least-2';
  minSize: number;
  maxSize: number;
  counts: Counts;
  /** The communicator method the benchmark times (collectives only). */
  method?: string;
}

const LAT: Counts = { iterations: 10000, skip: 100, iterationsLarge: 1000, skipLarge: 10 };
const BW: Counts = { iterations: 100, skip: 10, iterationsLarge: 20, skipLarge: 2 };
const COLL: Counts = { iterations: 1000, skip: 100, iterationsLarge: 100, skipLarge: 10 };
const MAX_PT2PT = 1 << 22; // 4 MiB
const MAX_COLL = 1 << 20; // 1 MiB

const coll = (name: TestName, title: string, method: string): TestInfo =>
  ({ name, title, kind: 'collective', ranks: 'at-least-2', minSize: 1, maxSize: MAX_COLL, counts: COLL, method });

export const TESTS: Readonly<Record<TestName, TestInfo>> = {
  latency: { name: 'latency', title: 'Latency Test', kind: 'latency', ranks: 'exactly-2', minSize: 0, maxSize: MAX_PT2PT, counts: LAT },
  bw: { name: 'bw', title: 'Bandwidth Test', kind: 'bandwidth', ranks: 'exactly-2', minSize: 1, maxSize: MAX_PT2PT, counts: BW },
  bibw: { name: 'bibw', title: 'Bi-Directional Bandwidth Test', kind: 'bandwidth', ranks: 'exactly-2', minSize: 1, maxSize: MAX_PT2PT, counts: BW },
  barrier: { name: 'barrier', title: 'Barrier Latency Test', kind: 'barrier', ranks: 'at-least-2', minSize: 0, maxSize: 0, counts: COLL, method: 'barrier' },
  bcast: coll('bcast', 'Broadcast Latency Test', 'bcast'),
  reduce: coll('reduce', 'Reduce Latency Test', 'reduce'),
  allreduce: coll('allreduce', 'Allreduce Latency Test', 'allreduce'),
  gather: coll('gather', 'Gather Latency Test', 'gather'),
  allgather: coll('allgather', 'Allgather Latency Test', 'allgather'),
  alltoall: coll('alltoall', 'All-to-All Personalized Exchange Latency Test', 'alltoall'),
  reduce_scatter: coll('reduce_scatter', 'Reduce_scatter Latency Test', 'reduceScatter'),
  iallreduce: { ...coll('iallreduce', 'Non-blocking Allreduce Latency Test', 'iallreduce'), kind: 'nonblocking' },
};

export const TEST_NAMES = Object.keys(TESTS) as TestName[];

/** OSU's datatypes (-T), plus MPI_DOUBLE for the float64 figures the issue asks for. */
export const DATATYPES = {
  mpi_char: { label: 'MPI_CHAR', bytes: 1 },
  mpi_int: { label: 'MPI_INT', bytes: 4 },
  mpi_float: { label: 'MPI_FLOAT', bytes: 4 },
  mpi_double: { label: 'MPI_DOUBLE', bytes: 8 },
} as const;

export type DatatypeName = keyof typeof DATATYPES;
export const DATATYPE_NAMES = Object.keys(DATATYPES) as DatatypeName[];

/** The sizes OSU visits: MIN, then doubling (0 is followed by 1) up to MAX. */
export function messageSizes(min: number, max: number): number[] {
  const out: number[] = [];
  for (let s = min; s <= max; s = s === 0 ? 1 : s * 2) out.push(s);
  return out;
}

/** Iterations and warm-up for one size, as OSU switches them above LARGE_MESSAGE_SIZE. */
export function countsFor(c: Counts, size: number): { iterations: number; skip: number } {
  return size > LARGE_MESSAGE_SIZE ? { iterations: c.iterationsLarge, skip: c.skipLarge } : { iterations: c.iterations, skip: c.skip };
}
