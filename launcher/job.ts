// The job controller: starts every rank through the HostStarter of its host, runs the
// key-value bootstrap service, forwards rank output line by line, and ends the whole job
// on the first failure (a rank exiting non-zero or dying, an abort, a timeout, a signal
// to the launcher). Hosts plug in as HostStarters (rank-starter.ts); nothing here knows
// whether a rank is a local child process or runs over SSH.

import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import type { GuardMode, TransportName } from '../runtime/bootstrap.js';
import { CompileError, prepareProgram, type ProgramLaunch } from './compile.js';
import { KvServer } from './kv-server.js';
import { LocalStarter } from './local-starter.js';
import { exitStatusOf, type HostStarter, type RankExit, type RankHandle, type RankSpec } from './rank-starter.js';

export interface JobOptions {
  /** One entry per rank (index = rank): the starter of the host that runs it. */
  placement: HostStarter[];
  /** Absolute path of the program (same path on every host). */
  program: string;
  /**
   * What ranks run (compile.ts): the compiled bundle of a TypeScript program, or the
   * program. Unset: run() prepares it (compiling when needed) before any rank starts.
   */
  launch?: ProgramLaunch | Promise<ProgramLaunch>;
  args?: string[];
  /** Working directory of every rank; default the launcher's. */
  cwd?: string;
  guard?: GuardMode;
  transport?: TransportName;
  /** Extra variables for every rank (-x). ZCMPI_* variables set by the job take precedence. */
  env?: Record<string, string>;
  /** Prefix every output line with `[host:rank] `. */
  tagOutput?: boolean;
  /** Seconds the whole job may run; 0 or unset: no limit. */
  timeout?: number;
  /** Seconds until every rank must have reached the first KV fence; default 60, 0: no limit. */
  timeoutStartup?: number;
  /** Forward the launcher's stdin (stdinSource) to rank 0. */
  stdin?: boolean;
  /** Address the KV service binds to; default 127.0.0.1. */
  kvHost?: string;
  /** Milliseconds between SIGTERM and SIGKILL when the job is ended; default 3000. */
  killGraceMs?: number;
  /** Where rank output goes; default the launcher's stdout/stderr. */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Source for --stdin; default process.stdin. */
  stdinSource?: NodeJS.ReadableStream;
  /** Launcher messages (one line, no prefix); default `zcmpirun: <line>` on stderr. */
  log?: (line: string) => void;
}

export type FailureReason = 'exit' | 'signal' | 'lost' | 'abort' | 'start' | 'timeout' | 'startup-timeout' | 'interrupt' | 'launcher';

/** Why the job ended early; `exitCode` is what the launcher exits with. */
export interface JobFailure {
  reason: FailureReason;
  /** The rank that failed, when a rank did. */
  rank: number | null;
  host: string | null;
  pid: number | undefined;
  exitCode: number;
  message: string;
}

export interface JobResult {
  exitCode: number;
  failure: JobFailure | null;
  jobId: string;
  /** Milliseconds from run() to the first completed KV fence (null if none completed). */
  startupMs: number | null;
}

/** All ranks on this machine through one LocalStarter. */
export function placeLocally(np: number, starter: HostStarter = new LocalStarter()): HostStarter[] {
  return Array.from({ length: np }, () => starter);
}

/** Convenience: run a job to its end. */
export function runJob(options: JobOptions): Promise<JobResult> {
  return new Job(options).run();
}

/** Prefix for messages about a rank: `rank 1 (host localhost, pid 1234)`. */
function who(rank: number, host: string, pid: number | undefined): string {
  return `rank ${rank} (host ${host}${pid === undefined ? '' : `, pid ${pid}`})`;
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}

function delay(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms).unref());
}

/** After SIGKILL, how long to wait for ranks to be reported gone before giving up on them. */
const ABANDON_AFTER_KILL_MS = 3000;

/** Longest partial line kept back; beyond it the piece is written out anyway. */
const MAX_PARTIAL_LINE = 64 * 1024;
const NL = 0x0a;

/**
 * Line-buffers one output stream of one rank so lines of different ranks never mix, and
 * prefixes each line when tagging. Works on bytes: '\n' never occurs inside a UTF-8
 * multi-byte character, so splitting there is safe.
 */
class LineWriter {
  private partial: Buffer[] = [];
  private partialLength = 0;

  constructor(readonly out: NodeJS.WritableStream, private readonly prefix: Buffer | null) {}

  /** Returns false when `out` wants the source to pause (backpressure). */
  write(chunk: Buffer): boolean {
    const last = chunk.lastIndexOf(NL);
    if (last < 0) {
      this.partial.push(chunk);
      this.partialLength += chunk.length;
      return this.partialLength > MAX_PARTIAL_LINE ? this.flush() : true;
    }
    const complete = Buffer.concat([...this.partial, chunk.subarray(0, last + 1)]);
    this.partial = last + 1 < chunk.length ? [chunk.subarray(last + 1)] : [];
    this.partialLength = chunk.length - last - 1;
    return this.out.write(this.tag(complete));
  }

  /** Write out a held-back partial line (end of stream, or too long). */
  flush(): boolean {
    if (this.partialLength === 0) return true;
    let piece = Buffer.concat(this.partial);
    this.partial = [];
    this.partialLength = 0;
    // Tagged output stays one line per prefix, so terminate the piece.
    if (this.prefix !== null) piece = Buffer.concat([piece, Buffer.from('\n')]);
    return this.out.write(this.tag(piece));
  }

  private tag(lines: Buffer): Buffer {
    if (this.prefix === null) return lines;
    const parts: Buffer[] = [];
    let start = 0;
    while (start < lines.length) {
      const nl = lines.indexOf(NL, start);
      const end = nl < 0 ? lines.length : nl + 1;
      parts.push(this.prefix, lines.subarray(start, end));
      start = end;
    }
    return Buffer.concat(parts);
  }
}

interface RankState {
  rank: number;
  starter: HostStarter;
  handle: RankHandle | null;
  exited: boolean;
  /** Settles when the rank is fully done (exited and output drained, or never started). */
  done: Promise<void>;
}

export class Job {
  readonly jobId: string;
  private readonly options: JobOptions;
  private readonly size: number;
  private readonly ranks: RankState[] = [];
  private readonly log: (line: string) => void;
  private readonly killGraceMs: number;
  private failure: JobFailure | null = null;
  /** The first failed rank exit, recorded at exit time while its output still drains. */
  private firstRankFailure: JobFailure | null = null;
  /** Signal sent to ranks when ending; escalated to SIGKILL after the grace period. */
  private endSignal: NodeJS.Signals = 'SIGTERM';
  private escalated = false;
  /** Resolves a while after SIGKILL went out: ranks not gone by then are given up on. */
  private readonly abandoned: Promise<void>;
  private abandon: () => void = () => {};
  /** Output destinations already watched for errors (a closed pipe ends the job). */
  private readonly watchedOutputs = new Set<NodeJS.WritableStream>();
  private readonly timers: NodeJS.Timeout[] = [];
  private started = false;
  private startedAt = 0;
  private startupMs: number | null = null;

  constructor(options: JobOptions) {
    if (options.placement.length < 1) throw new Error('Job: placement must name at least one rank');
    this.options = options;
    this.size = options.placement.length;
    this.jobId = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    this.killGraceMs = options.killGraceMs ?? 3000;
    const stderr = options.stderr ?? process.stderr;
    this.log = options.log ?? (line => { stderr.write(`zcmpirun: ${line}\n`); });
    this.abandoned = new Promise(resolve => { this.abandon = resolve; });
  }

  /** Start the ranks and resolve when every one of them is gone. Call once. */
  async run(): Promise<JobResult> {
    if (this.started) throw new Error('Job: run() called twice');
    this.started = true;
    this.startedAt = Date.now();
    const o = this.options;

    // Compile first: a program that does not compile starts no rank anywhere.
    let launch: ProgramLaunch;
    try {
      launch = await (o.launch ?? prepareProgram(o.program));
    } catch (err) {
      const message = err instanceof CompileError ? err.message : `cannot prepare ${o.program}: ${(err as Error).message}`;
      this.log(message);
      await this.closeStarters();
      return { exitCode: 1, failure: { reason: 'launcher', rank: null, host: null, pid: undefined, exitCode: 1, message }, jobId: this.jobId, startupMs: null };
    }

    const kv = new KvServer({
      size: this.size,
      host: o.kvHost,
      onFence: n => {
        if (n === 1) this.startupMs = Date.now() - this.startedAt;
      },
      onAbort: (rank, message) => this.abortFrom(rank, message),
      log: line => this.log(line),
    });
    try {
      await kv.listen();
    } catch (err) {
      const message = `cannot start the key-value service on ${o.kvHost ?? '127.0.0.1'}: ${(err as Error).message}`;
      this.log(message);
      await this.closeStarters();
      return { exitCode: 1, failure: { reason: 'launcher', rank: null, host: null, pid: undefined, exitCode: 1, message }, jobId: this.jobId, startupMs: null };
    }
    this.armTimers(kv);

    const localCounts = new Map<HostStarter, number>();
    for (const s of o.placement) localCounts.set(s, (localCounts.get(s) ?? 0) + 1);
    const localNext = new Map<HostStarter, number>();
    for (let rank = 0; rank < this.size; rank++) {
      const starter = o.placement[rank];
      const localRank = localNext.get(starter) ?? 0;
      localNext.set(starter, localRank + 1);
      const spec: RankSpec = {
        rank, size: this.size, localRank, localSize: localCounts.get(starter) ?? 1,
        host: starter.host, program: o.program, args: o.args ?? [], cwd: o.cwd ?? process.cwd(),
        launch: { file: launch.file, nodeOptions: launch.nodeOptions, bundle: launch.bundle },
        env: {
          ...o.env,
          ZCMPI_RANK: String(rank),
          ZCMPI_SIZE: String(this.size),
          ZCMPI_LOCAL_RANK: String(localRank),
          ZCMPI_LOCAL_SIZE: String(localCounts.get(starter) ?? 1),
          ZCMPI_JOB_ID: this.jobId,
          ZCMPI_HOST: starter.host,
          ZCMPI_GUARD: o.guard ?? 'block',
          ZCMPI_TRANSPORT: o.transport ?? 'auto',
          ZCMPI_KV_ADDR: kv.addressFor(starter.bootstrapAddress),
          ZCMPI_KV_SECRET: kv.secret,
        },
        stdin: rank === 0 && o.stdin === true,
      };
      const state: RankState = { rank, starter, handle: null, exited: false, done: Promise.resolve() };
      this.ranks.push(state);
      // Interrupted (or a start already failed): start nothing more.
      if (this.failure !== null) {
        state.exited = true;
        continue;
      }
      // A starter whose start() or exit never settles (a hung remote host) must not keep
      // the job alive once it is being ended.
      state.done = Promise.race([this.startRank(state, spec), this.abandoned]);
    }

    await Promise.all(this.ranks.map(r => r.done));
    const stuck = this.ranks.filter(r => !r.exited).map(r => r.rank);
    if (stuck.length > 0) this.log(`gave up waiting for rank${stuck.length === 1 ? '' : 's'} ${stuck.join(', ')} to end; closing their hosts`);
    for (const t of this.timers) clearTimeout(t);
    await kv.close();
    await this.closeStarters();
    const exitCode = this.failure?.exitCode ?? 0;
    return { exitCode, failure: this.failure, jobId: this.jobId, startupMs: this.startupMs };
  }

  /**
   * The launcher got a signal: forward it to every rank, SIGKILL after the grace period,
   * exit with 128+signal. A second signal kills at once.
   */
  interrupt(signal: NodeJS.Signals): void {
    if (this.failure !== null) {
      this.escalate();
      return;
    }
    this.endSignal = signal;
    this.end({
      reason: 'interrupt', rank: null, host: null, pid: undefined, exitCode: 128 + signalNumber(signal),
      message: `received ${signal}; forwarding it to the ranks and ending the job`,
    });
  }

  /** A launcher-side failure found by a plug-in (e.g. a host that became unreachable). */
  fail(message: string, exitCode = 1): void {
    this.end({ reason: 'launcher', rank: null, host: null, pid: undefined, exitCode, message: `${message}; ending the job` });
  }

  /** The failure that ended the job, if any so far. */
  get currentFailure(): JobFailure | null {
    return this.failure;
  }

  private armTimers(kv: KvServer): void {
    const o = this.options;
    if (o.timeout !== undefined && o.timeout > 0) {
      this.timers.push(setTimeout(() => this.end({
        reason: 'timeout', rank: null, host: null, pid: undefined, exitCode: 1,
        message: `the job ran longer than --timeout ${o.timeout} s; ending the job`,
      }), o.timeout * 1000));
    }
    const startup = o.timeoutStartup ?? 60;
    if (startup > 0) {
      this.timers.push(setTimeout(() => {
        if (kv.fencesCompleted > 0) return;
        const behind = kv.ranksBehindFence(1);
        const list = (rs: number[]) => (rs.length > 8 ? `${rs.slice(0, 8).join(', ')}, ...` : rs.join(', '));
        const notes: string[] = [];
        const exited = behind.filter(r => this.ranks[r]?.exited);
        const silent = behind.filter(r => !kv.connectedRanks.has(r) && !this.ranks[r]?.exited);
        if (silent.length) notes.push(`never connected: ${list(silent)}`);
        if (exited.length) notes.push(`exited without it: ${list(exited)}`);
        this.end({
          reason: 'startup-timeout', rank: null, host: null, pid: undefined, exitCode: 1,
          message: `rank${behind.length === 1 ? '' : 's'} ${list(behind)} did not reach the first key-value fence within ` +
            `--timeout-startup ${startup} s` + (notes.length ? ` (${notes.join('; ')})` : '') + '; ending the job',
        });
      }, startup * 1000));
    }
  }

  private async startRank(state: RankState, spec: RankSpec): Promise<void> {
    let handle: RankHandle;
    try {
      handle = await state.starter.start(spec);
    } catch (err) {
      state.exited = true;
      this.end({
        reason: 'start', rank: spec.rank, host: spec.host, pid: undefined, exitCode: 1,
        message: `cannot start rank ${spec.rank} on host ${spec.host}: ${(err as Error).message}; ending the job`,
      });
      return;
    }
    state.handle = handle;
    // The job may have ended while this rank was starting.
    if (this.failure !== null) handle.kill(this.escalated ? 'SIGKILL' : this.endSignal);

    const o = this.options;
    const tag = o.tagOutput ? Buffer.from(`[${spec.host}:${spec.rank}] `) : null;
    const drained = Promise.all([
      this.forward(handle.stdout, new LineWriter(this.watchOutput(o.stdout ?? process.stdout), tag)),
      this.forward(handle.stderr, new LineWriter(this.watchOutput(o.stderr ?? process.stderr), tag)),
    ]);
    if (spec.stdin && handle.stdin !== null) this.forwardStdin(handle.stdin, handle.exited);

    const exit = await handle.exited;
    state.exited = true;
    // The first rank to fail is decided by exit order, not by whose output drains first.
    const failure = this.failureOf(state, handle, exit);
    if (failure !== null && this.failure === null) this.firstRankFailure ??= failure;
    // Let the rank's last words come out before any message about it (bounded: a
    // grandchild may hold the pipes open).
    await Promise.race([drained, delay(1000)]);
    const f = this.failure;
    if (f === null) {
      if (failure !== null) this.end(this.firstRankFailure ?? failure);
    } else if (f.reason === 'abort' && f.rank === state.rank && exit.code !== null && exit.code !== 0) {
      // An aborting rank that then exits with its own status reports that status.
      f.exitCode = exit.code;
    }
  }

  private forward(stream: NodeJS.ReadableStream, writer: LineWriter): Promise<void> {
    return new Promise(resolve => {
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        writer.flush();
        resolve();
      };
      stream.on('data', (chunk: Buffer | string) => {
        const ok = writer.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        if (!ok) {
          stream.pause();
          writer.out.once('drain', () => stream.resume());
        }
      });
      stream.once('end', finish);
      stream.once('close', finish);
      stream.once('error', finish);
    });
  }

  /**
   * A destination that fails (EPIPE: `zcmpirun ... | head`) ends the job, like SIGPIPE
   * would end a plain program, instead of crashing the launcher and orphaning the ranks.
   */
  private watchOutput(out: NodeJS.WritableStream): NodeJS.WritableStream {
    if (!this.watchedOutputs.has(out)) {
      this.watchedOutputs.add(out);
      // Every rank waits on 'drain' of the same stream when it is full.
      out.setMaxListeners(0);
      out.on('error', (err: Error) => this.fail(`cannot write rank output (${err.message})`));
    }
    return out;
  }

  private forwardStdin(target: NodeJS.WritableStream, exited: Promise<RankExit>): void {
    const source = this.options.stdinSource ?? process.stdin;
    target.on('error', () => { /* the rank closed its stdin or exited: nothing to deliver to */ });
    source.pipe(target);
    void exited.then(() => {
      source.unpipe(target);
      // Don't let an idle terminal keep the launcher alive after the job.
      if (source === process.stdin) process.stdin.pause();
    });
  }

  /** The failure a rank exit means, or null for a clean exit (status 0). */
  private failureOf(state: RankState, handle: RankHandle, exit: RankExit): JobFailure | null {
    const base = { rank: state.rank, host: handle.host, pid: handle.pid };
    const name = who(state.rank, handle.host, handle.pid);
    if (exit.error !== undefined) {
      return { ...base, reason: 'lost', exitCode: 1, message: `${name} was lost: ${exit.error}; ending the job` };
    }
    if (exit.signal !== null) {
      return { ...base, reason: 'signal', exitCode: exitStatusOf(exit), message: `${name} was killed by ${exit.signal}; ending the job` };
    }
    if (exit.code !== 0) {
      return { ...base, reason: 'exit', exitCode: exitStatusOf(exit), message: `${name} exited with status ${exit.code}; ending the job` };
    }
    return null;
  }

  private abortFrom(rank: number, message: string): void {
    if (this.failure !== null) return;
    const state = this.ranks[rank];
    const h = state?.handle;
    // The aborting rank gets a moment to exit with its own status before it is signalled.
    this.end({
      reason: 'abort', rank, host: h?.host ?? state?.starter.host ?? null, pid: h?.pid, exitCode: 1,
      message: `${who(rank, h?.host ?? state?.starter.host ?? '?', h?.pid)} called abort: ${message}; ending the job`,
    }, rank);
  }

  /** Record the first failure and take every rank down. */
  private end(failure: JobFailure, spare?: number): void {
    if (this.failure !== null) return;
    this.failure = failure;
    this.log(failure.message);
    for (const r of this.ranks) {
      if (r.rank !== spare && r.handle !== null && !r.exited) r.handle.kill(this.endSignal);
    }
    if (spare !== undefined) {
      this.timers.push(setTimeout(() => {
        const r = this.ranks[spare];
        if (r?.handle && !r.exited && !this.escalated) r.handle.kill(this.endSignal);
      }, Math.min(1000, this.killGraceMs)));
    }
    this.timers.push(setTimeout(() => this.escalate(), this.killGraceMs));
  }

  /**
   * SIGKILL every rank now, synchronously: the last resort when the launcher itself is
   * about to die (an internal error), so no rank outlives it.
   */
  killNow(): void {
    for (const r of this.ranks) {
      if (r.handle !== null && !r.exited) r.handle.kill('SIGKILL');
    }
  }

  private escalate(): void {
    if (this.escalated) return;
    this.escalated = true;
    this.killNow();
    this.timers.push(setTimeout(() => this.abandon(), ABANDON_AFTER_KILL_MS));
  }

  private async closeStarters(): Promise<void> {
    const unique = [...new Set(this.options.placement)];
    const results = await Promise.allSettled(unique.map(s => s.close()));
    results.forEach((res, i) => {
      if (res.status === 'rejected') this.log(`closing host ${unique[i].host} failed: ${(res.reason as Error)?.message ?? String(res.reason)}`);
    });
  }
}
