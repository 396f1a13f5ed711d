// What every benchmark gets: the communicator, the options, the printer, buffers of the
// chosen element type and kind, OSU's min/max/avg across ranks, and the progress line.

import type { Communicator } from '../../runtime/index.js';
import { DATATYPES, countsFor, messageSizes } from './catalog.js';
import type { Printer } from './format.js';
import type { OsuOptions } from './options.js';

export type Elements = Int8Array | Int32Array | Float32Array | Float64Array;

/** Tag of the per-size statistics exchange when the runtime has no comm.reduce. */
const STATS_TAG = 30001;

export interface Size {
  bytes: number;
  /** Elements of the datatype in `bytes` (OSU: size / sizeof(type)). */
  elements: number;
  iterations: number;
  skip: number;
}

export class Context {
  readonly comm: Communicator;
  readonly o: OsuOptions;
  readonly printer: Printer;
  readonly #progress: Progress;

  constructor(comm: Communicator, o: OsuOptions, printer: Printer) {
    this.comm = comm;
    this.o = o;
    this.printer = printer;
    this.#progress = new Progress(comm.rank === 0, o.test.name);
  }

  /**
   * The sizes OSU visits, without those too small for one element: OSU 7.4 skips them
   * (so osu_latency's default range starts at 0 but its first row is 1).
   */
  sizes(): Size[] {
    const per = DATATYPES[this.o.datatype].bytes;
    return messageSizes(this.o.minSize, this.o.maxSize)
      .map(bytes => ({ bytes, elements: Math.floor(bytes / per), ...countsFor(this.o.counts, bytes) }))
      .filter(s => s.elements > 0);
  }

  /** `elements` elements of the datatype, from comm.alloc or plain, filled with `fill`. */
  buffer(elements: number, fill: number): Elements {
    const Ctor = { mpi_char: Int8Array, mpi_int: Int32Array, mpi_float: Float32Array, mpi_double: Float64Array }[this.o.datatype];
    const b = this.o.buffer === 'alloc' ? this.comm.alloc(Ctor, elements) : new Ctor(elements);
    b.fill(fill);
    return b;
  }

  /** OSU's three MPI_Reduce calls to rank 0: min, max and the average of `value` over ranks. */
  async acrossRanks(value: number): Promise<{ min: number; max: number; avg: number }> {
    const comm = this.comm;
    const reduce = (comm as unknown as Partial<ReduceApi>).reduce;
    const v = Float64Array.of(value);
    if (typeof reduce === 'function') {
      const out = new Float64Array(1);
      const r = { min: 0, max: 0, sum: 0 };
      for (const op of ['min', 'max', 'sum'] as const) {
        await reduce.call(comm, v, comm.rank === 0 ? out : null, op, 0);
        r[op] = out[0];
      }
      return { min: r.min, max: r.max, avg: r.sum / comm.size };
    }
    // Before the runtime had collectives: the same figures through point-to-point.
    if (comm.rank !== 0) {
      await comm.send(v, 0, STATS_TAG);
      return { min: value, max: value, avg: value };
    }
    let min = value, max = value, sum = value;
    const got = new Float64Array(1);
    for (let peer = 1; peer < comm.size; peer++) {
      await comm.recv(got, peer, STATS_TAG);
      min = Math.min(min, got[0]);
      max = Math.max(max, got[0]);
      sum += got[0];
    }
    return { min, max, avg: sum / comm.size };
  }

  /** Called after each size; rank 0 writes a line to stderr every few seconds. */
  done(size: Size, index: number, of: number): void {
    this.#progress.update(`${size.bytes} B done (${index + 1} of ${of} sizes)`);
  }
}

/** The part of the collective API the statistics need (issue 9's fixed signature). */
interface ReduceApi {
  reduce(send: Float64Array, recv: Float64Array | null, op: 'min' | 'max' | 'sum', root: number): Promise<void>;
}

/** A progress line on stderr when a run takes long: after 5 s, then at most every 5 s. */
class Progress {
  readonly #enabled: boolean;
  readonly #name: string;
  readonly #start = performance.now();
  #last = performance.now();

  constructor(enabled: boolean, name: string) {
    this.#enabled = enabled;
    this.#name = name;
  }

  update(what: string): void {
    const now = performance.now();
    if (!this.#enabled || now - this.#last < 5000) return;
    this.#last = now;
    process.stderr.write(`osu ${this.#name}: ${what}, ${((now - this.#start) / 1000).toFixed(0)} s\n`);
  }
}
