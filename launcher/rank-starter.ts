// The plug-in point between the job controller (job.ts) and the places ranks run.
// A HostStarter knows how to start a rank process on one host (LocalStarter: a child
// process here; the SSH launcher: a process over an SSH connection). The job controller
// never looks at processes directly, only at RankHandles, so every host kind gets the
// same output forwarding, failure handling and KV bootstrap.

import { constants } from 'node:os';

/** Everything a starter needs to start one rank. */
export interface RankSpec {
  rank: number;
  size: number;
  /** Index of this rank among the ranks of the same host, and how many ranks that host runs. */
  localRank: number;
  localSize: number;
  host: string;
  /** Absolute path of the program; the same path on every host (shared filesystem, as MPI assumes). */
  program: string;
  args: string[];
  /**
   * What node runs instead of `program` (its compiled bundle, launcher/compile.ts), with
   * the node options it needs. Unset: the program itself (TypeScript through tsx).
   */
  launch?: { file: string; nodeOptions: string[]; bundle?: { hash: string; bytes: Buffer } };
  cwd: string;
  /**
   * Variables the rank needs on top of its base environment: every ZCMPI_* variable
   * (including ZCMPI_KV_SECRET, which must never be put into argv or a command line that
   * other users can see) plus the ones forwarded with -x. LocalStarter adds them to the
   * launcher's environment; a remote starter adds them to a clean environment.
   */
  env: Record<string, string>;
  /** Give the rank a writable stdin pipe (RankHandle.stdin); otherwise its stdin is /dev/null. */
  stdin: boolean;
}

/** How a rank ended. Exactly one of code/signal is non-null unless `error` is set. */
export interface RankExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /**
   * Set when the rank's fate is unknown because the starter lost it (e.g. the SSH
   * connection to its host dropped). The job treats this as a launcher-side failure.
   */
  error?: string;
}

/** A started rank. `exited` must settle exactly once and must not reject. */
export interface RankHandle {
  readonly rank: number;
  readonly host: string;
  /** Process id on its host, when known (for messages and for tests that check for leftovers). */
  readonly pid: number | undefined;
  stdout: NodeJS.ReadableStream;
  stderr: NodeJS.ReadableStream;
  /** Present only when the spec asked for stdin. */
  stdin: NodeJS.WritableStream | null;
  exited: Promise<RankExit>;
  /**
   * Send a signal to the rank and everything it started (its process group). Must not
   * throw when the rank already exited.
   */
  kill(signal: NodeJS.Signals): void;
}

/** Starts ranks on one host. One instance per host; the job calls close() once at the end. */
export interface HostStarter {
  /** Host name used in messages, ZCMPI_HOST and `[host:rank]` output tags. */
  readonly host: string;
  /**
   * Address that ranks on this host use to reach the launcher's KV service. Unset means
   * the address the KV service is bound to (127.0.0.1 by default), right for local ranks.
   * The SSH starter sets it to the local address of its SSH connection.
   */
  readonly bootstrapAddress?: string;
  /** Resolves once the process runs (its pid is known); rejects when it could not be started. */
  start(spec: RankSpec): Promise<RankHandle>;
  /**
   * Called once when the job is over, after every rank of this host exited or was killed.
   * Must make sure nothing the job started on this host is left running, then release
   * resources (connections).
   */
  close(): Promise<void>;
}

/** Conventional shell status for a rank exit: the code, or 128+N for signal N. */
export function exitStatusOf(exit: RankExit): number {
  if (exit.signal !== null) return 128 + (constants.signals[exit.signal] ?? 0);
  return exit.code ?? 1;
}
