#!/usr/bin/env node
// zcmpirun: parses the command line (commander), turns it into JobOptions and runs the
// job (job.ts). Where ranks run is a `placement` (one HostStarter per rank): all local
// by default; with host options (--host, --hostfile, --ssh-*, ...) the SSH launcher's
// module (ssh/host-options.ts) adds its options and builds the placement. That module
// pulls in ssh2, so it is loaded only when the command line uses an option that is not
// one of the core ones below (or asks for --help): a local job does not pay for SSH.

import { Command, CommanderError, Option } from 'commander';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GUARD_MODES, TRANSPORT_NAMES, type GuardMode, type TransportName } from '../runtime/bootstrap.js';
import { prepareProgram, type ProgramLaunch } from './compile.js';
import { Job, placeLocally, type JobResult } from './job.js';
import type { HostStarter } from './rank-starter.js';

/** A bad command line: printed as one `zcmpirun: error: ...` line, exit status 1. */
export class UsageError extends Error {}

/** The parsed, validated command line. */
export interface CliOptions {
  /** Undefined only when host options are in use (then the hosts' slots decide). */
  np: number | undefined;
  guard: GuardMode;
  transport: TransportName;
  tagOutput: boolean;
  /** Seconds; 0 means no limit. */
  timeout: number;
  timeoutStartup: number;
  /** Variables forwarded with -x, already resolved to values. */
  env: Record<string, string>;
  /** Flags for every rank's node (--node-arg), before the program. */
  nodeArgs: string[];
  /** Absolute program path. */
  program: string;
  args: string[];
  cwd: string;
  /** Warnings for the user (e.g. -x of an unset variable). */
  warnings: string[];
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version?: string };
    if (pkg.version) return pkg.version;
  } catch { /* running from source: package.json is one level up instead */ }
  try {
    return (JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The command definition; extensions (SSH hosts) add their options to it. */
export function buildCommand(): Command {
  return new Command('zcmpirun')
    .usage('-np N [options] program.ts|program.js [args...]')
    .description('Start an MPI-style zcmpi job of N ranks.')
    .addOption(new Option('-n, --np <N>', 'number of ranks to start (also written -np N)'))
    .addOption(new Option('--guard <mode>', 'buffer guard mode: block, strict or off (default: $ZCMPI_GUARD or block)'))
    .addOption(new Option('--transport <name>', 'transport: auto, ucx or verbs (default: auto)'))
    .addOption(new Option('--rdma-device <NAME[:PORT]>', 'RDMA device (and port) for the verbs transport (default: $ZCMPI_RDMA_DEVICE or the first active port)'))
    .option('--tag-output', 'prefix every output line with [host:rank]')
    .addOption(new Option('--timeout <S>', 'end the job when it runs longer than S seconds'))
    .addOption(new Option('--timeout-startup <S>', 'end the job when ranks do not all reach the first bootstrap fence within S seconds (default: 60; 0: never)'))
    .option('-x <NAME[=VALUE]>', 'forward variable NAME (with its value here, or VALUE) to every rank; repeatable', collect)
    .option('--node-arg <FLAG>', 'pass FLAG to node for every rank, e.g. --node-arg=--max-old-space-size=8192; repeatable', collect)
    .version(version(), '-V, --version')
    .argument('<program>', 'program to run: .ts/.mts/.cts/.tsx (compiled once, cached) or .js/.mjs/.cjs')
    .argument('[args...]', 'arguments passed to the program')
    // Everything after the program belongs to the program, even things that look like options.
    .passThroughOptions()
    .helpOption('-h, --help', 'show this help')
    .showSuggestionAfterError(true);
}

/**
 * Rewrite Open MPI's `-np N` (not a valid commander flag) to `--np N`, only among the
 * launcher's own options (before the program), so a program argument `-np` stays as is.
 */
export function normalizeArgv(args: string[], command: Command): string[] {
  const takesValue = new Set<string>();
  for (const opt of command.options) {
    if (opt.required || opt.optional) {
      if (opt.short) takesValue.add(opt.short);
      if (opt.long) takesValue.add(opt.long);
    }
  }
  const out = [...args];
  for (let i = 0; i < out.length; i++) {
    const a = out[i];
    if (a === '--' || !a.startsWith('-') || a === '-') break; // the program starts here
    if (a === '-np' || a.startsWith('-np=')) {
      out[i] = '-' + a;
      if (a === '-np') i++;
      continue;
    }
    if (takesValue.has(a)) i++; // `--opt value`: skip the value
  }
  return out;
}

function positiveInt(option: string, value: string): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`option ${option}: expected a positive integer, got '${value}'`);
  return n;
}

function seconds(option: string, value: string | undefined, fallback: number, allowZero: boolean): number {
  if (value === undefined) return fallback;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    throw new UsageError(`option ${option}: expected a number of seconds ${allowZero ? '>= 0' : '> 0'}, got '${value}'`);
  }
  return n;
}

function oneOf<T extends string>(what: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${what}: expected one of ${allowed.join(', ')}, got '${value}'`);
}

/** Turn commander's parsed values into CliOptions; throws UsageError. */
export function toCliOptions(command: Command, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), npRequired = true): CliOptions {
  const o = command.opts<{ np?: string; guard?: string; transport?: string; rdmaDevice?: string; tagOutput?: boolean; timeout?: string; timeoutStartup?: string; x?: string[]; nodeArg?: string[] }>();
  if (o.np === undefined && npRequired) throw new UsageError('option -np is required: the number of ranks to start');
  const np = o.np === undefined ? undefined : positiveInt('-np', o.np);
  const guard = o.guard !== undefined
    ? oneOf('option --guard', o.guard, GUARD_MODES)
    : oneOf('ZCMPI_GUARD (default for --guard)', env.ZCMPI_GUARD || 'block', GUARD_MODES);
  const transport = oneOf('option --transport', o.transport ?? 'auto', TRANSPORT_NAMES);
  const timeout = seconds('--timeout', o.timeout, 0, false);
  const timeoutStartup = seconds('--timeout-startup', o.timeoutStartup, 60, true);

  const forwarded: Record<string, string> = {};
  if (o.rdmaDevice !== undefined) {
    if (!/^[^:\s]+(:[1-9][0-9]*)?$/.test(o.rdmaDevice)) {
      throw new UsageError(`option --rdma-device: expected NAME or NAME:PORT (e.g. rxe0 or mlx5_0:1), got '${o.rdmaDevice}'`);
    }
    forwarded.ZCMPI_RDMA_DEVICE = o.rdmaDevice;
  }
  const warnings: string[] = [];
  for (const item of o.x ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/s.exec(item);
    if (!m) throw new UsageError(`option -x: expected NAME or NAME=VALUE with NAME a variable name, got '${item}'`);
    const [, name, value] = m;
    if (value !== undefined) forwarded[name] = value;
    else if (env[name] !== undefined) forwarded[name] = env[name] as string;
    else warnings.push(`-x ${name}: not set in the launcher's environment; not forwarded`);
  }

  const [programArg, args] = command.processedArgs as [string, string[]];
  const program = resolve(cwd, programArg);
  let isFile = false;
  try { isFile = statSync(program).isFile(); } catch { /* reported below */ }
  if (!isFile) throw new UsageError(`program '${programArg}' not found${programArg === program ? '' : ` (looked for ${program})`}`);

  const nodeArgs = o.nodeArg ?? [];
  for (const flag of nodeArgs) {
    // A flag of node's own (what it does is node's business: node rejects what it does not know).
    if (!/^--?[A-Za-z]/.test(flag)) throw new UsageError(`option --node-arg: expected a node flag such as --max-old-space-size=8192, got '${flag}'`);
  }
  return { np, guard, transport, tagOutput: o.tagOutput === true, timeout, timeoutStartup, env: forwarded, nodeArgs, program, args: args ?? [], cwd, warnings };
}

/**
 * True when argv uses an option before the program that is not a core option (or asks
 * for help): then the host options must be loaded to parse it.
 */
export function usesHostOptions(args: string[]): boolean {
  const core = new Map<string, boolean>(); // flag -> takes a value
  for (const opt of buildCommand().options) {
    for (const flag of [opt.short, opt.long]) if (flag) core.set(flag, opt.required || opt.optional);
  }
  core.set('-np', true);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--' || !a.startsWith('-') || a === '-') return false; // the program starts here
    const flag = a.startsWith('--') ? a.split('=')[0] : a === '-np' || a.startsWith('-np=') ? '-np' : a.slice(0, 2);
    if (flag === '-h' || flag === '--help') return true;
    const takesValue = core.get(flag);
    if (takesValue === undefined) return true;
    // `--opt value` / `-x value`; inline forms (`--opt=v`, `-xV`, `-np=4`) carry their value.
    if (takesValue && a === flag) i++;
  }
  return false;
}

function parseInto(command: Command, argv: string[]): void {
  command.exitOverride().configureOutput({ writeErr: () => { /* errors are printed by main() as one line */ } });
  try {
    command.parse(normalizeArgv(argv, command), { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode !== 0) throw new UsageError(err.message.replace(/^error:\s*/, '').split('\n')[0]);
    throw err;
  }
}

/** Parse argv of a local job (core options only); throws UsageError, or CommanderError for --help/--version. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): CliOptions {
  const command = buildCommand();
  parseInto(command, argv);
  return toCliOptions(command, env);
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise(done => stream.write('', () => done()));
}

/** Where the ranks run, from the command line. */
interface Where {
  placement: HostStarter[];
  /** The program's compile (started while the hosts connect); the job reports its errors. */
  launch: Promise<ProgramLaunch>;
  kvHost: string | undefined;
  stdin: boolean;
}

/** Starts the program's compile; its failure is reported by the job (no rank starts). */
function prepareLaunch(program: string, nodeArgs: string[] = []): Promise<ProgramLaunch> {
  const p = prepareProgram(program).then(l => nodeArgs.length ? { ...l, nodeOptions: [...nodeArgs, ...l.nodeOptions] } : l);
  p.catch(() => { /* handled when the job awaits it */ });
  return p;
}

/** Parse argv and build the placement; throws UsageError (one line), or CommanderError for --help/--version. */
async function prepare(argv: string[], warn: (m: string) => void): Promise<{ cli: CliOptions; where: Where }> {
  if (!usesHostOptions(argv)) {
    const cli = parseCli(argv);
    return { cli, where: { placement: placeLocally(cli.np as number), launch: prepareLaunch(cli.program, cli.nodeArgs), kvHost: undefined, stdin: false } };
  }
  const hosts = await import('./ssh/host-options.js');
  const command = hosts.addHostOptions(buildCommand());
  parseInto(command, argv);
  let cli: CliOptions;
  let built: Awaited<ReturnType<typeof hosts.buildPlacement>>;
  let launch: Promise<ProgramLaunch>;
  try {
    const hostOptions = hosts.toHostOptions(command);
    cli = toCliOptions(command, process.env, process.cwd(), hostOptions.hosts === null);
    launch = prepareLaunch(cli.program, cli.nodeArgs);
    built = await hosts.buildPlacement(cli.np, hostOptions, { timeoutStartup: cli.timeoutStartup, warn });
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError((err as Error).message);
  }
  return { cli, where: { placement: built.placement, launch, kvHost: built.kvHost, stdin: command.opts<{ stdin?: boolean }>().stdin === true } };
}

/** Run zcmpirun; resolves with the exit status. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const warn = (m: string) => { process.stderr.write(`zcmpirun: warning: ${m}\n`); };
  let cli: CliOptions;
  let where: Where;
  try {
    ({ cli, where } = await prepare(argv, warn));
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode; // --help, --version
    process.stderr.write(`zcmpirun: error: ${(err as Error).message}\n`);
    return 1;
  }
  for (const w of cli.warnings) warn(w);

  const job = new Job({
    placement: where.placement,
    launch: where.launch,
    kvHost: where.kvHost,
    stdin: where.stdin,
    program: cli.program,
    args: cli.args,
    cwd: cli.cwd,
    guard: cli.guard,
    transport: cli.transport,
    env: cli.env,
    tagOutput: cli.tagOutput,
    timeout: cli.timeout,
    timeoutStartup: cli.timeoutStartup,
  });
  const onSignal = (signal: NodeJS.Signals) => job.interrupt(signal);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  // A launcher bug must not leave ranks running without anyone to end them.
  const onCrash = (err: unknown) => {
    job.killNow();
    process.stderr.write(`zcmpirun: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  let result: JobResult;
  try {
    result = await job.run();
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
  return result.exitCode;
}

function isEntryPoint(): boolean {
  if (process.argv[1] === undefined) return false;
  try {
    return pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const code = await main();
  // Exit explicitly (a paused stdin or a leftover handle must not keep us alive), but
  // only after everything forwarded has been written.
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(code);
}
