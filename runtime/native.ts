// Loads the addon (build/Release/zcmpi.node, relative to the package root, so it works from
// dist/runtime/ and from runtime/ under tsx) and declares the functions the runtime uses.
// The layouts below mirror native/protocol/status_layout.h.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonPathOption } from './options.js';
import { applyUcxDefaults } from './ucx-env.js';

/** Anything the addon accepts as a byte range. */
export type BufferLike = ArrayBufferView | ArrayBuffer;

export interface NativeCreateOptions {
  rank: number;
  size: number;
  guard: 'block' | 'strict' | 'off';
  transport: string;
  progressSpinUs: number;
  capacity?: number;
  eagerCopyMax?: number;
  guardedCopyMax?: number;
  ucxPeerErrors?: boolean;
  singleCopyMin?: number;
  /** Oversubscribed host: polls yield the CPU after their first 20 us. */
  yieldWhenIdle?: boolean;
  /** Busy part of a wait's poll (us) before it sleeps until a transport event. */
  busyPollUs?: number;
  /** Bind every thread of this process to the n-th CPU it may run on (-1: no binding). */
  bindCpuIndex?: number;
  rdmaDevice?: string;
  rdmaGid?: string;
  verbsEagerMax?: number;
  /** Silence (s) after which a verbs peer is declared failed. */
  verbsPeerTimeoutS?: number;
  verbsInjectQpError?: string;
}

export interface NativeCreated {
  /** This rank's transport address (for the key-value exchange). */
  address: Buffer;
  /** The transport the engine runs ('ucx' or 'verbs': what auto chose). */
  transport: string;
  capacity: number;
  /** SlotStatus[capacity]: 32 bytes per slot. */
  status: ArrayBuffer;
  /** SharedHeader: 16 int32 words. */
  header: ArrayBuffer;
  /** Int32 slot numbers written by commDrain(). */
  drain: ArrayBuffer;
}

export interface NativeGuardStats {
  guardsAcquired: number;
  faultsWaited: number;
  faultsLifted: number;
  faultsCollateral: number;
  strictReports: number;
  mprotectCalls: number;
  activeGuards: number;
  /** libc futex waits the seccomp trap made again with the guard keys open. */
  futexCallsRedone: number;
  /** libc rt_sigprocmask / rt_sigaction calls made again without blocking the guard's signals. */
  signalMaskCallsRedone: number;
  /** Bytes of collateral rep movs/stos iterations the fault handler stored itself. */
  stringBytesEmulated: number;
}

/** 0: posted (in flight), 1: completed during the call. */
export type PostOutcome = 0 | 1;

export interface NativeAddon {
  commCreate(options: NativeCreateOptions): NativeCreated;
  commConnect(addresses: Uint8Array[]): void;
  commSetNotify(fn: () => void): void;
  commRefLoop(on: boolean): void;
  /** deferred: no guard until commGuard (the blocking send/recv spin first). */
  commIsend(slot: number, id: number, buf: BufferLike, dest: number, tag: number, stack?: string, deferred?: boolean, comm?: number): PostOutcome;
  commIrecv(slot: number, id: number, buf: BufferLike, source: number, tag: number, stack?: string, deferred?: boolean, comm?: number): PostOutcome;
  /**
   * The blocking send/recv: posts deferred, polls up to spinNs on this thread, and guards the
   * buffer only if the operation is still in flight after that. 1: completed, 0: in flight.
   */
  commPostWait(isRecv: boolean, slot: number, id: number, buf: BufferLike, peer: number, tag: number, stack: string | undefined, spinNs: number, comm?: number): PostOutcome;
  /** Installs the guard of a deferred request still in flight; 1 if it completed meanwhile. */
  commGuard(slot: number): PostOutcome;
  commBarrier(slot: number, id: number): PostOutcome;
  /** One collective (runtime/collectives.ts); counts and displacements in elements. */
  commCollective(slot: number, id: number, comm: number, kind: number, send: BufferLike | null, recv: BufferLike | null,
    dtype: number, op: number, root: number, count: number, inPlace: boolean, jsFold: boolean, deferred: boolean,
    sendCounts: Float64Array | null, sendDispls: Float64Array | null, recvCounts: Float64Array | null,
    recvDispls: Float64Array | null, stack?: string): PostOutcome;
  /** Installs the guards of a blocking collective still in flight; 1 if it completed meanwhile. */
  commCollGuard(slot: number): PostOutcome;
  /** Registers a communicator: its id (tag context), this rank in it, members' world ranks. */
  commAddComm(id: number, rank: number, members: Int32Array): void;
  commRemoveComm(id: number): void;
  /** Strict mode: the program observed request id's completion (its held guard goes). */
  commObserved(id: number): void;
  commPoll(slot: number, spinNs: number): boolean;
  commWait(slot: number, spinNs: number): void;
  commProgress(spinNs: number): void;
  commDrain(): number;
  commErrorMessage(slot: number): string;
  commBackgroundError(): string;
  commInternalInFlight(): number;
  /** The transport's own statistics as [label, value] rows (ZCMPI_STATS). */
  commTransportStats(): Array<[string, number]>;
  commDisconnect(): void;
  commShutdown(): void;
  alloc(bytes: number): ArrayBuffer;
  hasDeviceView(view: BufferLike): boolean;
  guardStats(): NativeGuardStats;
  /** Gives `threads` libuv thread-pool workers an alternate signal stack; one promise per job. */
  prepareThreadPool(threads: number): Promise<void>[];
  guardSetLongWaitMs(ms: number): void;
}

// SlotStatus as Int32Array words (8 per slot) and Float64Array words (4 per slot).
export const SLOT_I32 = 8;
export const SLOT_F64 = 4;
export const F_STATE = 0;
export const F_SOURCE = 1;
export const F_TAG = 2;
export const F_ERROR = 3;
export const F64_BYTES = 2;
export const F_QUEUED = 6;
export const STATE_PENDING = 1;
export const STATE_DONE = 2;
// SharedHeader words.
export const H_QUEUED = 0;
export const H_NOTIFY_WANTED = 1;
export const H_BACKGROUND_ERRORS = 3;

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'zcmpi') return dir;
      } catch { /* keep looking */ }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('zcmpi: cannot find the package root (package.json named zcmpi) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

let cached: NativeAddon | undefined;

export function addon(): NativeAddon {
  if (cached) return cached;
  const path = addonPathOption() ?? join(packageRoot(), 'build', 'Release', 'zcmpi.node');
  if (!existsSync(path)) {
    throw new Error(`zcmpi: the native addon is missing (${path}); run \`npm run build:native\``);
  }
  applyUcxDefaults();  // before the load: UCX reads them in its library constructors
  // A copy with V8's fast properties: the addon's exports object (30 functions set one by
  // one) is a dictionary, so every call like native.commIsend in optimized code looked the
  // function up through the LoadIC (about 250 instructions per message pair, callgrind);
  // from a fast-mode object the load is constant-folded and the call goes straight in.
  cached = { ...(createRequire(import.meta.url)(path) as NativeAddon) };
  return cached;
}
