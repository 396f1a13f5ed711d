// Every ZCMPI_* option a user can set for a rank, read in this one place. docs/options.md
// lists the same table (test/options-documented.test.ts keeps the two in step). Variables
// that zcmpirun itself sets to describe the job (ZCMPI_RANK, ZCMPI_SIZE, ZCMPI_KV_ADDR, ...)
// are not options: runtime/bootstrap.ts reads those.
//
// Precedence: an init() option, then the variable (zcmpirun flags such as --guard set the
// variable for every rank), then the default below.

import type { GuardMode, TransportName } from './bootstrap.js';

export const GUARD_MODES: readonly GuardMode[] = ['block', 'strict', 'off'];
export const TRANSPORT_NAMES: readonly TransportName[] = ['auto', 'ucx', 'verbs'];
export type BindPolicy = 'core' | 'none';
export const BIND_POLICIES: readonly BindPolicy[] = ['core', 'none'];

export interface RankOptions {
  /** ZCMPI_GUARD */
  guard: GuardMode;
  /** ZCMPI_TRANSPORT */
  transport: TransportName;
  /** ZCMPI_SPIN_US: microseconds a waiting call polls on the JavaScript thread before sleeping. */
  spinUs: number;
  /** ZCMPI_BUSY_POLL_US: microseconds of a wait's poll spent busy-polling before it sleeps until a transport event. */
  busyPollUs: number;
  /** ZCMPI_BIND: 'core' binds each rank to one CPU of its host (when there are enough), 'none' leaves placement to the kernel. */
  bind: BindPolicy;
  /** ZCMPI_PROGRESS_SPIN_US: microseconds the progress thread polls after its last event. */
  progressSpinUs: number;
  /** ZCMPI_GUARDED_COPY_MAX: bytes up to which a registered send that cannot complete at once is copied, not guarded. */
  guardedCopyMax: number;
  /** ZCMPI_UCX_PEER_ERRORS: UCX peer-failure detection (costs shared memory and CMA in UCX 1.13). */
  ucxPeerErrors: boolean;
  /** ZCMPI_STATS: print this rank's statistics on stderr when it finalizes or exits. */
  stats: boolean;
  /**
   * ZCMPI_GUARD_PKEYS: 0 makes the guard engine use mprotect even where the CPU has protection
   * keys. Validated here; the engine itself reads it (native/guard/guard.cpp), because it also
   * runs without the runtime (native tests, a hand-loaded addon) and decides before its first guard.
   */
  guardPkeys: boolean;
  /** ZCMPI_ADDON: path of the native addon to load instead of build/Release/zcmpi.node. */
  addon: string | undefined;
  /** ZCMPI_RDMA_DEVICE (zcmpirun --rdma-device): NAME or NAME:PORT of the RDMA device for verbs. */
  rdmaDevice: string | undefined;
  /** ZCMPI_RDMA_GID: GID index to use on the RDMA port (default: the IPv4-mapped RoCE v2 entry). */
  rdmaGid: string | undefined;
  /** ZCMPI_SINGLE_COPY_MIN: registered sends of at least this many bytes to a rank of the same host go single-copy (UCX transport); 0: never. */
  singleCopyMin: number;
  /** ZCMPI_VERBS_EAGER_MAX: largest message the verbs transport sends eagerly (bytes). */
  verbsEagerMax: number;
  /** ZCMPI_VERBS_PEER_TIMEOUT_S: silence (s) after which the verbs transport declares a peer failed. */
  verbsPeerTimeoutS: number;
  /** ZCMPI_VERBS_INJECT_QP_ERROR: test hook ON:PEER:N, rank ON breaks its queue pair to PEER before its Nth READ. */
  verbsInjectQpError: string | undefined;
}

/** One row of the table in docs/options.md. */
export interface OptionDoc {
  name: string;
  default: string;
}

export const OPTION_DOCS: readonly OptionDoc[] = [
  { name: 'ZCMPI_GUARD', default: 'block' },
  { name: 'ZCMPI_TRANSPORT', default: 'auto' },
  { name: 'ZCMPI_SPIN_US', default: '10000' },
  { name: 'ZCMPI_BUSY_POLL_US', default: '50' },
  { name: 'ZCMPI_BIND', default: 'core' },
  { name: 'ZCMPI_PROGRESS_SPIN_US', default: '20' },
  { name: 'ZCMPI_GUARDED_COPY_MAX', default: '8192' },
  { name: 'ZCMPI_UCX_PEER_ERRORS', default: '0' },
  { name: 'ZCMPI_STATS', default: '0' },
  { name: 'ZCMPI_ADDON', default: '(unset)' },
  { name: 'ZCMPI_GUARD_PKEYS', default: '1' },
  { name: 'ZCMPI_RDMA_DEVICE', default: '(unset)' },
  { name: 'ZCMPI_RDMA_GID', default: '(unset)' },
  { name: 'ZCMPI_SINGLE_COPY_MIN', default: '65536' },
  { name: 'ZCMPI_VERBS_EAGER_MAX', default: '8192' },
  { name: 'ZCMPI_VERBS_PEER_TIMEOUT_S', default: '15' },
  { name: 'ZCMPI_VERBS_INJECT_QP_ERROR', default: '(unset)' },
];

/** A variable that is set but not valid: the message names the variable and what it expects. */
export class OptionError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(message);
    this.name = 'OptionError';
    this.variable = variable;
  }
}

function raw(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

export function enumOption<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[], fallback: T): T {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new OptionError(name, `${name} must be one of ${allowed.join(', ')}; got '${v}'`);
}

export function numberOption(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new OptionError(name, `${name} must be a non-negative number; got '${v}'`);
  return n;
}

export function flagOption(env: NodeJS.ProcessEnv, name: string): boolean {
  const v = raw(env, name);
  if (v === undefined || v === '0') return false;
  if (v === '1') return true;
  throw new OptionError(name, `${name} must be 0 or 1; got '${v}'`);
}

/** Reads every rank option from env; throws OptionError naming the first bad variable. */
export function readRankOptions(env: NodeJS.ProcessEnv = process.env): RankOptions {
  return {
    guard: enumOption(env, 'ZCMPI_GUARD', GUARD_MODES, 'block'),
    transport: enumOption(env, 'ZCMPI_TRANSPORT', TRANSPORT_NAMES, 'auto'),
    spinUs: numberOption(env, 'ZCMPI_SPIN_US', 10_000),
    busyPollUs: numberOption(env, 'ZCMPI_BUSY_POLL_US', 50),
    bind: enumOption(env, 'ZCMPI_BIND', BIND_POLICIES, 'core'),
    progressSpinUs: numberOption(env, 'ZCMPI_PROGRESS_SPIN_US', 20),
    guardedCopyMax: numberOption(env, 'ZCMPI_GUARDED_COPY_MAX', 8192),
    ucxPeerErrors: flagOption(env, 'ZCMPI_UCX_PEER_ERRORS'),
    stats: flagOption(env, 'ZCMPI_STATS'),
    guardPkeys: !(raw(env, 'ZCMPI_GUARD_PKEYS') !== undefined && !flagOption(env, 'ZCMPI_GUARD_PKEYS')),
    addon: raw(env, 'ZCMPI_ADDON'),
    rdmaDevice: rdmaDeviceOption(env),
    rdmaGid: rdmaGidOption(env),
    singleCopyMin: singleCopyOption(env),
    verbsEagerMax: numberOption(env, 'ZCMPI_VERBS_EAGER_MAX', 8192),
    verbsPeerTimeoutS: peerTimeoutOption(env),
    verbsInjectQpError: injectOption(env),
  };
}

// Blocks below 16 KiB do not keep the file descriptor a peer maps them through
// (native/memory/arena.h kExportMin), so a smaller threshold could never take effect.
function singleCopyOption(env: NodeJS.ProcessEnv): number {
  const n = numberOption(env, 'ZCMPI_SINGLE_COPY_MIN', 65536);
  if (n !== 0 && (n < 16384 || !Number.isInteger(n))) {
    throw new OptionError('ZCMPI_SINGLE_COPY_MIN', `ZCMPI_SINGLE_COPY_MIN must be 0 (off) or a whole number of bytes of at least 16384; got '${raw(env, 'ZCMPI_SINGLE_COPY_MIN')}'`);
  }
  return n;
}

function rdmaDeviceOption(env: NodeJS.ProcessEnv): string | undefined {
  const v = raw(env, 'ZCMPI_RDMA_DEVICE');
  if (v !== undefined && !/^[^:\s]+(:[1-9][0-9]*)?$/.test(v)) {
    throw new OptionError('ZCMPI_RDMA_DEVICE', `ZCMPI_RDMA_DEVICE (zcmpirun --rdma-device) must be NAME or NAME:PORT, e.g. rxe0 or mlx5_0:1; got '${v}'`);
  }
  return v;
}

// The queue pair's retransmission timer is a power of two (4.096 us * 2^n per try, 7 tries):
// from 0.1 s (a fast fabric, a job that must notice a dead node at once) to an hour.
function peerTimeoutOption(env: NodeJS.ProcessEnv): number {
  const n = numberOption(env, 'ZCMPI_VERBS_PEER_TIMEOUT_S', 15);
  if (n < 0.1 || n > 3600) {
    throw new OptionError('ZCMPI_VERBS_PEER_TIMEOUT_S', `ZCMPI_VERBS_PEER_TIMEOUT_S must be between 0.1 and 3600 seconds; got '${raw(env, 'ZCMPI_VERBS_PEER_TIMEOUT_S')}'`);
  }
  return n;
}

function injectOption(env: NodeJS.ProcessEnv): string | undefined {
  const v = raw(env, 'ZCMPI_VERBS_INJECT_QP_ERROR');
  if (v !== undefined && !/^[0-9]+:[0-9]+(:[0-9]+)?$/.test(v)) {
    throw new OptionError('ZCMPI_VERBS_INJECT_QP_ERROR', `ZCMPI_VERBS_INJECT_QP_ERROR must be ON:PEER[:N] (ranks, READ count); got '${v}'`);
  }
  return v;
}

function rdmaGidOption(env: NodeJS.ProcessEnv): string | undefined {
  const v = raw(env, 'ZCMPI_RDMA_GID');
  if (v !== undefined && !/^[0-9]+$/.test(v)) {
    throw new OptionError('ZCMPI_RDMA_GID', `ZCMPI_RDMA_GID must be a GID table index (a non-negative integer, see ibv_devinfo -v); got '${v}'`);
  }
  return v;
}

/** ZCMPI_ADDON alone: the addon loads before init() reads the other options. */
export function addonPathOption(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return raw(env, 'ZCMPI_ADDON');
}
