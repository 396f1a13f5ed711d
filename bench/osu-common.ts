// Shared by osu-latency.ts and osu-bw.ts: command-line options and buffers, in the style of
// the OSU Micro-Benchmarks (sizes doubling from --min to --max, warm-up iterations skipped).

import type { Communicator } from '../runtime/index.js';

export interface OsuOptions {
  min: number;
  max: number;
  iters: number;
  itersLarge: number;
  skip: number;
  window: number;
  /** 'arena': comm.alloc memory (zero-copy); 'plain': ordinary Uint8Array. */
  buffer: 'arena' | 'plain';
  /** 'await': await send/recv; 'wait': isend/irecv + synchronous wait(). */
  sync: 'await' | 'wait';
  /** Unmeasured round trips before the first size: V8 compiles the loop only when it is hot. */
  warmup: number;
}

export function parseOptions(argv: string[]): OsuOptions {
  // OSU's defaults: 10000 iterations with 1000 skipped (warm-up) up to 8 KiB, 1000 with 100
  // skipped above. The warm-up matters more here than in C: V8 compiles the hot loop only
  // after a few thousand iterations.
  const o: OsuOptions = { min: 1, max: 4 << 20, iters: 10000, itersLarge: 1000, skip: 1000, window: 64, buffer: 'arena', sync: 'await', warmup: 20000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--min': o.min = Number(next()); break;
      case '--max': o.max = Number(next()); break;
      case '--iters': o.iters = Number(next()); break;
      case '--iters-large': o.itersLarge = Number(next()); break;
      case '--skip': o.skip = Number(next()); break;
      case '--window': o.window = Number(next()); break;
      case '--warmup': o.warmup = Number(next()); break;
      case '--buffer': o.buffer = next() === 'plain' ? 'plain' : 'arena'; break;
      case '--wait': o.sync = 'wait'; break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  return o;
}

export function sizes(o: OsuOptions): number[] {
  const out: number[] = [];
  for (let s = o.min; s <= o.max; s *= 2) out.push(s);
  return out;
}

/** OSU uses fewer iterations (and a tenth of the warm-up) above 8 KiB. */
export function itersFor(o: OsuOptions, size: number): { iters: number; skip: number } {
  return size > 8192 ? { iters: o.itersLarge, skip: Math.max(1, Math.floor(o.skip / 10)) } : { iters: o.iters, skip: o.skip };
}

export function buffer(comm: Communicator, o: OsuOptions, bytes: number): Uint8Array {
  if (o.buffer === 'arena') return comm.alloc(Uint8Array, bytes);
  return new Uint8Array(bytes);
}

export function header(title: string, comm: Communicator, o: OsuOptions, column: string): void {
  if (comm.rank !== 0) return;
  console.log(`# OSU MPI-style ${title} Test (zcmpi, guard ${comm.guard}, ${o.buffer} buffers, ${o.sync})`);
  console.log(`# Size${' '.repeat(10)}${column}`);
}

export function row(size: number, value: number): void {
  console.log(`${String(size).padEnd(14)}${value.toFixed(2).padStart(12)}`);
}
