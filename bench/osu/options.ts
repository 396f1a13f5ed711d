// bench/osu.ts's command line (commander), with OSU Micro-Benchmarks' option letters:
//   osu <test> [-m [MIN:]MAX] [-i ITER] [-x SKIP] [-f] [-W WINDOW] [-T TYPE]
//              [--buffer alloc|plain] [--json] [--jit-warmup N]
// Every bad value is one line naming the option and what was expected.

import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  DATATYPE_NAMES, OSU_VERSION, TESTS, TEST_NAMES, type Counts, type DatatypeName, type TestInfo, type TestName,
} from './catalog.js';

export class UsageError extends Error {}

export type BufferKind = 'alloc' | 'plain';

export interface OsuOptions {
  test: TestInfo;
  minSize: number;
  maxSize: number;
  counts: Counts;
  /** -f: min/max latency and iterations columns (collectives). */
  full: boolean;
  /** -W: messages in flight per iteration (bw, bibw). */
  window: number;
  datatype: DatatypeName;
  /** 'alloc': comm.alloc memory (the zero-copy path); 'plain': ordinary typed arrays. */
  buffer: BufferKind;
  /** One JSON object per line and size instead of OSU's table. */
  json: boolean;
  /**
   * Unmeasured iterations of the first size before anything is measured, so V8 has
   * compiled the measuring loop before the first row (OSU's -x warm-up is per size and
   * sized for C). The C and mpi4py programs accept it too, so all run the same schedule.
   */
  jitWarmup: number;
  /** Print guard statistics to stderr at the end (how many protection changes a run paid). */
  guardStats: boolean;
}

/**
 * Default for --jit-warmup. The earlier latency runner measured its first row 50% slower
 * without a JIT warm-up (docs/performance.md); 2000 iterations of the smallest size cost
 * well under a second for every benchmark here. Not tuned further.
 */
export const DEFAULT_JIT_WARMUP = 2000;

function integer(what: string, min: number) {
  return (value: string): number => {
    const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected ${what}.`);
    return n;
  };
}

/** OSU's -m: "MAX", "MIN:MAX", "MIN:" or ":MAX" (bytes). */
export function parseMessageSize(value: string): { min?: number; max?: number } {
  const m = /^\s*(\d*)\s*(:?)\s*(\d*)\s*$/.exec(value);
  if (!m || (m[1] === '' && m[3] === '')) throw new InvalidArgumentError('expected [MIN:]MAX in bytes (e.g. 1:1048576, 4096 or 8:).');
  const [, a, colon, b] = m;
  if (!colon) return { max: Number(a) };
  return { ...(a !== '' ? { min: Number(a) } : {}), ...(b !== '' ? { max: Number(b) } : {}) };
}

export function buildCommand(): Command {
  return new Command('osu')
    .usage('<test> [options]    (run under zcmpirun: zcmpirun -np N bench/osu.ts <test> [options])')
    .description(`OSU Micro-Benchmarks (v${OSU_VERSION} output format) for zcmpi.`)
    .addArgument(new Argument('<test>', 'benchmark to run').choices(TEST_NAMES))
    .addOption(new Option('-m, --message-size <[MIN:]MAX>', 'message sizes in bytes, MIN doubling up to MAX (default: the test\'s OSU range)').argParser(parseMessageSize))
    .addOption(new Option('-i, --iterations <N>', 'measured iterations per size (default: OSU\'s, fewer above 8 KiB)').argParser(integer('a positive integer', 1)))
    .addOption(new Option('-x, --warmup <N>', 'unmeasured warm-up iterations per size (default: OSU\'s)').argParser(integer('a non-negative integer', 0)))
    .addOption(new Option('-f, --full', 'print min/max latency and iterations (collectives)'))
    .addOption(new Option('-W, --window-size <N>', 'messages in flight per iteration (bw, bibw; default: 64)').argParser(integer('a positive integer', 1)))
    .addOption(new Option('-T, --type <TYPE>', 'element type (default: mpi_char)').choices(DATATYPE_NAMES))
    .addOption(new Option('--buffer <KIND>', 'alloc: comm.alloc (zero-copy) memory; plain: ordinary typed arrays').choices(['alloc', 'plain']).default('alloc'))
    .addOption(new Option('--json', 'one JSON object per line for each size instead of the OSU table'))
    .addOption(new Option('--guard-stats', 'print each rank\'s guard statistics (protect/lift counts) to stderr at the end'))
    .addOption(new Option('--jit-warmup <N>', `unmeasured iterations of the first size before measuring, so the JIT has compiled the loop (default: ${DEFAULT_JIT_WARMUP})`).argParser(integer('a non-negative integer', 0)))
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput({ writeErr: () => { /* reported by the caller as one line */ }, writeOut: () => { /* help: see parseOptions */ } })
    .showSuggestionAfterError(true);
}

/** The help text (printed by rank 0 only). */
export function helpText(): string {
  return buildCommand().helpInformation();
}

interface Raw {
  messageSize?: { min?: number; max?: number };
  iterations?: number;
  warmup?: number;
  full?: boolean;
  windowSize?: number;
  type?: DatatypeName;
  buffer: BufferKind;
  json?: boolean;
  jitWarmup?: number;
  guardStats?: boolean;
}

/**
 * Parses argv (the program's arguments); throws UsageError with a one-line message, or
 * returns 'help' for -h/--help.
 */
export function parseOptions(argv: string[]): OsuOptions | 'help' {
  const command = buildCommand();
  try {
    command.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') return 'help';
      throw new UsageError(err.message.replace(/^error:\s*/, '').split('\n')[0]);
    }
    throw err;
  }
  const o = command.opts<Raw>();
  const test = TESTS[command.processedArgs[0] as TestName];
  const given = (key: keyof Raw) => command.getOptionValueSource(key) === 'cli';
  const refuse = (flag: string, why: string) => { throw new UsageError(`option ${flag} does not apply to ${test.name}: ${why}`); };
  if (given('windowSize') && test.kind !== 'bandwidth') refuse('-W/--window-size', 'only bw and bibw have a window');
  if (given('full') && test.kind === 'latency') refuse('-f/--full', 'OSU prints min/max only for collectives');
  if (given('full') && test.kind === 'bandwidth') refuse('-f/--full', 'OSU prints min/max only for collectives');
  if (given('messageSize') && test.kind === 'barrier') refuse('-m/--message-size', 'a barrier has no message');
  if (given('type') && test.kind === 'barrier') refuse('-T/--type', 'a barrier has no message');

  const minSize = o.messageSize?.min ?? test.minSize;
  const maxSize = o.messageSize?.max ?? Math.max(test.maxSize, minSize);
  if (minSize > maxSize) throw new UsageError(`option -m/--message-size: MIN (${minSize}) is larger than MAX (${maxSize})`);
  if (maxSize > 2 ** 30) throw new UsageError(`option -m/--message-size: MAX (${maxSize}) is above 1 GiB`);
  const counts: Counts = { ...test.counts };
  if (o.iterations !== undefined) counts.iterations = counts.iterationsLarge = o.iterations;
  if (o.warmup !== undefined) counts.skip = counts.skipLarge = o.warmup;
  return {
    test, minSize, maxSize, counts,
    full: o.full === true,
    window: o.windowSize ?? 64,
    datatype: o.type ?? 'mpi_char',
    buffer: o.buffer,
    json: o.json === true,
    jitWarmup: o.jitWarmup ?? DEFAULT_JIT_WARMUP,
    guardStats: o.guardStats === true,
  };
}
