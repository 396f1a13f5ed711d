// Communicator: the rank program's handle on the job (what init() returns).

import type { GuardMode, KvClient } from './bootstrap.js';
import { allocView, type AllocConstructor, type AllocResult } from './alloc.js';
import { loopTurn, type Engine } from './engine.js';
import { ArgumentError, FinalizedError, MultipleErrors, ZcmpiError, fromNative } from './errors.js';
import type { BufferLike } from './native.js';
import { Request } from './request.js';
import type { Status } from './status.js';
import { applyStrictExit } from './strict-exit.js';
import { checkBuffer, checkRank, checkTag } from './validate.js';

/** How long finalize waits for the peers' final goodbyes before tearing down anyway. */
const FENCE_TIMEOUT_MS = 30_000;

export class Communicator {
  /** This rank, 0 <= rank < size. */
  readonly rank: number;
  /** Number of ranks in the job. */
  readonly size: number;
  /** The guard mode this rank runs with. */
  readonly guard: GuardMode;
  /** The transport in use ('ucx'). */
  readonly transport: string;
  #engine: Engine;
  #kv: KvClient;
  #finalizing = false;

  /** @internal created by init() */
  constructor(engine: Engine, kv: KvClient, rank: number, size: number, guard: GuardMode, transport: string) {
    this.#engine = engine;
    this.#kv = kv;
    this.rank = rank;
    this.size = size;
    this.guard = guard;
    this.transport = transport;
  }

  /** True after finalize() completed. */
  get finalized(): boolean {
    return this.#engine.finalized;
  }

  /**
   * A typed array of `length` elements over registered memory: page-aligned, huge pages for
   * large sizes, and a device view so transfers are zero-copy. Any other buffer works too.
   */
  alloc<C extends AllocConstructor>(Ctor: C, length: number): AllocResult<C> {
    this.#enter('alloc');
    return allocView(this.#engine.native, Ctor, length);
  }

  /** Starts sending `buf` to rank `dest`; returns at once. `tag` defaults to 0. */
  isend(buf: BufferLike, dest: number, tag?: number): Request {
    this.#enter('isend');
    const view = checkBuffer('isend', buf);
    const d = checkRank('isend', 'dest', dest, this.size, false);
    const t = checkTag('isend', tag, false);
    const stack = this.#stack();
    const engine = this.#engine;
    try {
      return engine.post('isend', view, d, t, stack);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** Starts receiving into `buf` from `source` (or ANY_SOURCE) with `tag` (or ANY_TAG; default 0). */
  irecv(buf: BufferLike, source: number, tag?: number): Request {
    this.#enter('irecv');
    const view = checkBuffer('irecv', buf);
    const s = checkRank('irecv', 'source', source, this.size, true);
    const t = checkTag('irecv', tag, true);
    const stack = this.#stack();
    const engine = this.#engine;
    try {
      return engine.post('irecv', view, s, t, stack);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /**
   * Sends and resolves when the send completed. The call polls before returning (see
   * Engine.blocking and SpinPolicy), so the buffer needs a guard only if the transfer is
   * still in flight after that: no protection change for most sends.
   */
  async send(buf: BufferLike, dest: number, tag?: number): Promise<Status> {
    this.#enter('send');
    const view = checkBuffer('send', buf);
    const d = checkRank('send', 'dest', dest, this.size, false);
    const t = checkTag('send', tag, false);
    const stack = this.#stack();
    const engine = this.#engine;
    let out: Status | Request;
    try {
      out = engine.blocking('isend', view, d, t, stack);
    } catch (e) {
      throw fromNative(e);
    }
    // Completed while polling (the common case): no request, no thenable round trip.
    if (out instanceof Request) return await out;
    if (engine.starvingLoop()) await loopTurn();
    return out;
  }

  /** Receives and resolves when the message is in `buf` (see send for the guard). */
  async recv(buf: BufferLike, source: number, tag?: number): Promise<Status> {
    this.#enter('recv');
    const view = checkBuffer('recv', buf);
    const s = checkRank('recv', 'source', source, this.size, true);
    const t = checkTag('recv', tag, true);
    const stack = this.#stack();
    const engine = this.#engine;
    let out: Status | Request;
    try {
      out = engine.blocking('irecv', view, s, t, stack);
    } catch (e) {
      throw fromNative(e);
    }
    // Completed while polling (the common case): no request, no thenable round trip.
    if (out instanceof Request) return await out;
    if (engine.starvingLoop()) await loopTurn();
    return out;
  }

  /**
   * Waits for every request. Resolves with their statuses in order; if any failed, rejects
   * once all have completed, with that error (or a MultipleErrors listing each failure).
   */
  async waitall(requests: readonly Request[]): Promise<Status[]> {
    if (this.#engine.finalized) throw new FinalizedError('waitall');
    if (!Array.isArray(requests)) {
      throw new ArgumentError('requests', `zcmpi: waitall: requests must be an array of Request (got ${typeof requests})`);
    }
    requests.forEach((r, i) => {
      if (!(r instanceof Request)) {
        throw new ArgumentError('requests', `zcmpi: waitall: requests[${i}] must be a Request returned by isend/irecv`);
      }
    });
    // Marked first: the requests' own errors belong to this call, not to the checkpoint.
    for (const r of requests) r._markObserved();
    this.#enter('waitall');
    // Fast path: the whole window completes while we poll; otherwise await the rest.
    if (!this.#engine.spinAll(requests)) {
      await Promise.allSettled(requests.filter(r => !r._settled).map(r => r._whenSettled()));
    } else if (this.#engine.starvingLoop()) {
      await loopTurn();
    }
    const errors: ZcmpiError[] = [];
    const statuses: Status[] = [];
    for (const r of requests) {
      const e = r.error;
      if (e) errors.push(e);
      else statuses.push(r.status as Status);
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      throw new MultipleErrors(`zcmpi: waitall: ${errors.length} requests failed; first: ${errors[0].message}`, errors);
    }
    return statuses;
  }

  /** Resolves when every rank has entered the barrier. Runs natively (dissemination). */
  async barrier(): Promise<void> {
    this.#enter('barrier');
    await this.#barrier();
  }

  /**
   * Ends this rank's participation: completes every outstanding request (including ones
   * nobody awaited), runs a final barrier, closes connections, lifts every guard. Throws
   * errors of requests that nobody saw. In strict mode, sets the exit status to 66 if a
   * hazard was reported.
   */
  async finalize(): Promise<void> {
    const engine = this.#engine;
    if (this.#finalizing || engine.finalized) throw new FinalizedError('finalize');
    this.#finalizing = true;
    let failure: unknown;
    try {
      // 1. Everything the program posted, awaited or not.
      for (let left = engine.outstanding(); left.length > 0; left = engine.outstanding()) {
        await Promise.all(left.map(r => r._whenSettled()));
      }
      // 2. Copies of small sends still on their way (their requests completed at isend).
      while (engine.native.commInternalInFlight() > 0) {
        engine.native.commProgress(1_000_000);
        await new Promise<void>(resolve => setImmediate(resolve));
      }
      // 3. Nobody tears down while a peer may still be sending to it.
      await this.#barrier();
    } catch (e) {
      failure = e;
    }
    try {
      engine.native.commDisconnect();
      // Every rank has flushed its endpoints before anyone destroys its worker.
      await withTimeout(this.#kv.fence(), FENCE_TIMEOUT_MS);
    } catch (e) {
      failure ??= e;
    } finally {
      engine.native.commShutdown();
      engine.finalized = true;
      this.#kv.close();
      applyStrictExit(engine.native);
    }
    const unseen = engine.takeUnseen();
    if (failure !== undefined && !unseen.includes(failure as ZcmpiError)) {
      unseen.unshift(failure instanceof ZcmpiError ? failure : fromNative(failure));
    }
    if (unseen.length === 1) throw unseen[0];
    if (unseen.length > 1) {
      throw new MultipleErrors(`zcmpi: finalize: ${unseen.length} operations failed and were never checked; first: ${unseen[0].message}`, unseen);
    }
  }

  async #barrier(): Promise<void> {
    const engine = this.#engine;
    let r: Request;
    try {
      r = engine.post('barrier', null, -1, -1);
    } catch (e) {
      throw fromNative(e);
    }
    await r;
  }

  #enter(call: string): void {
    if (this.#finalizing && !this.#engine.finalized) throw new FinalizedError(call);
    this.#engine.checkpoint(call);
  }

  #stack(): string | undefined {
    // Only strict mode prints where a request was posted; capturing a stack costs microseconds.
    if (this.guard !== 'strict') return undefined;
    const s = new Error('posted here').stack ?? '';
    // Drop the "Error: posted here" line and our own frames.
    return s.split('\n').slice(1).filter(l => !l.includes('/runtime/communicator.')).join('\n');
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s`)), ms);
    p.then(v => { clearTimeout(t); resolve(v); }, e => { clearTimeout(t); reject(e); });
  });
}
