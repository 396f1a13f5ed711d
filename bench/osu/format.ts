// OSU Micro-Benchmarks 7.4's output, byte for byte: a blank line, `# OSU MPI <title> v7.4`,
// `# Datatype: MPI_CHAR.`, the column header (`# Size` in 10 columns, each value in 20,
// `Iterations` in 12), rows of `%-10d` sizes and `%20.2f` values. Or, with --json, one JSON
// object per size. Only rank 0 prints.

import { DATATYPES, OSU_VERSION, type TestInfo } from './catalog.js';
import type { OsuOptions } from './options.js';

const FIELD = 20;

const left = (s: string | number, w: number) => String(s).padEnd(w);
const right = (s: string | number, w: number) => String(s).padStart(w);
const fixed = (v: number, w = FIELD) => right(v.toFixed(2), w);

export function titleLine(test: TestInfo): string {
  return `# OSU MPI ${test.title} v${OSU_VERSION}`;
}

/** The latency figures of one size, as OSU's print_stats gets them (microseconds). */
export interface LatencyRow {
  size: number;
  avg: number;
  min: number;
  max: number;
  iterations: number;
  skip: number;
}

export interface BandwidthRow {
  size: number;
  /** MB/s, 10^6 bytes per second. */
  bandwidth: number;
  iterations: number;
  skip: number;
  window: number;
}

/** osu_iallreduce's figures (microseconds; averages over ranks, comm min/max over ranks). */
export interface NonBlockingRow {
  size: number;
  overall: number;
  compute: number;
  init: number;
  test: number;
  wait: number;
  pureComm: number;
  minComm: number;
  maxComm: number;
  overlap: number;
  iterations: number;
  skip: number;
}

export class Printer {
  readonly #o: OsuOptions;
  readonly #print: boolean;
  readonly #out: (line: string) => void;
  readonly #meta: Record<string, string | number>;

  constructor(o: OsuOptions, rank: number, meta: Record<string, string | number>, out: (line: string) => void = l => { process.stdout.write(l + '\n'); }) {
    this.#o = o;
    this.#print = rank === 0;
    this.#out = out;
    this.#meta = meta;
  }

  /** The preamble and column header, in the form the test's OSU program prints them. */
  header(): void {
    if (!this.#print || this.#o.json) return;
    const { test, full } = this.#o;
    const lines = ['', titleLine(test)];
    if (test.kind === 'nonblocking') lines.push('# Overall = Coll. Init + Compute + MPI_Test + MPI_Wait', '');
    if (test.kind !== 'barrier') lines.push(`# Datatype: ${DATATYPES[this.#o.datatype].label}.`);
    let cols: string;
    if (test.kind === 'barrier') cols = '# Avg Latency(us)';
    else if (test.kind === 'bandwidth') cols = left('# Size', 10) + right('Bandwidth (MB/s)', FIELD);
    else if (test.kind === 'nonblocking') {
      const names = full
        ? ['Compute(us)', 'Coll. Init(us)', 'MPI_Test(us)', 'MPI_Wait(us)', 'Pure Comm.(us)', 'Min Comm.(us)', 'Max Comm.(us)', 'Overlap(%)']
        : ['Compute(us)', 'Pure Comm.(us)', 'Overlap(%)'];
      cols = left('# Size', 10) + right('Overall(us)', FIELD) + names.map(n => right(n, FIELD)).join('');
    } else cols = left('# Size', 10) + right('Avg Latency(us)', FIELD);
    if (full && (test.kind === 'collective' || test.kind === 'barrier')) {
      cols += right('Min Latency(us)', FIELD) + right('Max Latency(us)', FIELD) + right('Iterations', 12);
    }
    lines.push(cols);
    for (const l of lines) this.#out(l);
  }

  latency(r: LatencyRow): void {
    if (!this.#print) return;
    const { test, full } = this.#o;
    if (this.#o.json) {
      const fields: Record<string, number> = test.kind === 'barrier' ? {} : { size: r.size };
      fields.avg_latency_us = round(r.avg);
      if (test.kind !== 'latency') Object.assign(fields, { min_latency_us: round(r.min), max_latency_us: round(r.max) });
      this.#json({ ...fields, iterations: r.iterations, warmup: r.skip });
      return;
    }
    let line = test.kind === 'barrier' ? fixed(r.avg, 17) : left(r.size, 10) + fixed(r.avg);
    if (full && test.kind !== 'latency') line += fixed(r.min) + fixed(r.max) + right(r.iterations, 12);
    this.#out(line);
  }

  bandwidth(r: BandwidthRow): void {
    if (!this.#print) return;
    if (this.#o.json) {
      this.#json({ size: r.size, bandwidth_mb_s: round(r.bandwidth), iterations: r.iterations, warmup: r.skip, window: r.window });
      return;
    }
    this.#out(left(r.size, 10) + fixed(r.bandwidth));
  }

  nonBlocking(r: NonBlockingRow): void {
    if (!this.#print) return;
    if (this.#o.json) {
      this.#json({
        size: r.size, overall_us: round(r.overall), compute_us: round(r.compute), coll_init_us: round(r.init),
        test_us: round(r.test), wait_us: round(r.wait), pure_comm_us: round(r.pureComm), min_comm_us: round(r.minComm),
        max_comm_us: round(r.maxComm), overlap_pct: round(r.overlap), iterations: r.iterations, warmup: r.skip,
      });
      return;
    }
    const values = this.#o.full
      ? [r.compute, r.init, r.test, r.wait, r.pureComm, r.minComm, r.maxComm, r.overlap]
      : [r.compute, r.pureComm, r.overlap];
    this.#out(left(r.size, 10) + fixed(r.overall) + values.map(v => fixed(v)).join(''));
  }

  #json(fields: Record<string, number>): void {
    const o = this.#o;
    this.#out(JSON.stringify({
      benchmark: o.test.name, title: titleLine(o.test).slice(2), ...this.#meta,
      ...(o.test.kind === 'barrier' ? {} : { datatype: DATATYPES[o.datatype].label }),
      buffer: o.buffer, jit_warmup: o.jitWarmup, ...fields,
    }));
  }
}

/** Nanosecond resolution (3 decimals of us or MB/s), without float noise. */
function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
