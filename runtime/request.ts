// Request: one non-blocking operation. It is a PromiseLike<Status> (so `await req` works),
// and has MPI's synchronous pair: wait() blocks until completion, test() checks without
// blocking. A request nobody awaits still completes; its error is kept by the communicator
// and thrown at the next call (or at finalize) until the program has seen it.

import type { ZcmpiError } from './errors.js';
import type { BufferLike } from './native.js';
import type { RequestCall, Status } from './status.js';

/** The communicator-side operations a request needs (implemented by Engine in engine.ts). */
export interface RequestHost {
  /** Polls on this thread for up to the spin budget; true when the request completed. */
  spin(r: Request): boolean;
  /** One progress pass on this thread (MPI_Test); true when the request completed. */
  poke(r: Request): boolean;
  /** Blocks until the request completed (the progress thread does the work). */
  block(r: Request): void;
  /** Cheap check of the shared status word; delivers the completion if it is there. */
  check(r: Request): boolean;
  /** Keeps the event loop alive and completions flowing while someone awaits. */
  awaitBegin(): void;
  awaitEnd(): void;
  /** The program has seen this error: it no longer needs to be thrown at the next call. */
  observed(err: ZcmpiError): void;
  /** Throws FinalizedError etc. when the communicator cannot be used. */
  usable(call: string): void;
  /** The program has observed this request's completion (strict mode lets its guard go). */
  completionObserved(r: Request): void;
}

export class Request implements PromiseLike<Status> {
  /** @internal slot in the native request table, -1 once released */
  _slot: number;
  /** @internal keeps the buffer (and so its memory) reachable while in flight */
  _buf: BufferLike | null;
  /** @internal another buffer in flight (a collective's send buffer), kept reachable too */
  _keep: unknown = null;
  /** @internal the event-loop turn it was posted in (see Engine.unseen) */
  _turn = 0;
  /** @internal which poll ran out on it (SpinKind, -1: none), and the engine's posts by then */
  _spinKind = -1;
  _spinPosts = 0;
  /** @internal this rank in the request's communicator (a send's status.source) */
  _selfRank = -1;
  #host: RequestHost;
  #settled = false;
  #status: Status | undefined;
  #error: ZcmpiError | undefined;
  #observed = false;
  #completionObserved = false;
  #listeners: Array<() => void> | null = null;  // created only when someone awaits
  #promise: Promise<Status> | undefined;

  /** @internal created by the communicator only */
  constructor(
    host: RequestHost,
    slot: number,
    buf: BufferLike | null,
    /** 'isend', 'irecv' or 'barrier' */
    readonly call: RequestCall,
    /** Destination (isend) or requested source (irecv; ANY_SOURCE = -1). */
    readonly peer: number,
    /** The tag given to isend/irecv (ANY_TAG = -1). */
    readonly tag: number,
    /** Request number, as guard reports print it. */
    readonly id: number,
  ) {
    this.#host = host;
    this._slot = slot;
    this._buf = buf;
  }

  /** True once the operation finished (successfully or not). Never blocks. */
  get done(): boolean {
    return this.#settled || this.#host.check(this);
  }

  /** The status once completed successfully, else undefined. */
  get status(): Status | undefined {
    if (!this.#settled) this.#host.check(this);
    return this.#status;
  }

  /** The error once completed with one, else undefined. Reading it counts as handling it. */
  get error(): ZcmpiError | undefined {
    if (!this.#settled) this.#host.check(this);
    if (this.#error) this.#markObserved();
    return this.#error;
  }

  /**
   * Non-blocking check (drives progress once). True when complete; throws the request's
   * error if it completed with one.
   */
  test(): boolean {
    if (!this.#settled) {
      this.#host.usable('test');
      this.#host.poke(this);
    }
    if (!this.#settled) return false;
    this.#markObserved();
    if (this.#error) throw this.#error;
    return true;
  }

  /**
   * Blocks the calling thread until the operation completes and returns its status (or
   * throws its error). Works without the event loop: progress runs on native threads.
   */
  wait(): Status {
    if (!this.#settled) {
      this.#host.usable('wait');
      this.#markObserved();
      if (!this.#host.spin(this)) this.#host.block(this);
    }
    this.#markObserved();
    if (this.#error) throw this.#error;
    return this.#status as Status;
  }

  then<R1 = Status, R2 = never>(
    onfulfilled?: ((value: Status) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    this.#markObserved();
    if (!this.#promise) {
      this.#promise = this._whenSettled().then(() => {
        if (this.#error) throw this.#error;
        return this.#status as Status;
      });
    }
    return this.#promise.then(onfulfilled, onrejected);
  }

  /** Same as `then(undefined, onrejected)`. */
  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Status | R> {
    return this.then(undefined, onrejected);
  }

  /**
   * @internal Resolves when the request completes, without counting as handling its error
   * (finalize uses it to complete fire-and-forget requests).
   */
  _whenSettled(): Promise<void> {
    if (this.#settled || this.#host.spin(this)) return Promise.resolve();
    return new Promise<void>(resolve => {
      if (this.#settled) {
        resolve();
        return;
      }
      this.#host.awaitBegin();
      (this.#listeners ??= []).push(() => {
        this.#host.awaitEnd();
        resolve();
      });
    });
  }

  /** @internal The program will see this request's outcome (waitall took it). */
  _markObserved(): void {
    this.#markObserved();
  }

  /** @internal True once settled. */
  get _settled(): boolean {
    return this.#settled;
  }

  /** @internal True when an error was (or will be) delivered to the program by this request. */
  get _observed(): boolean {
    return this.#observed;
  }

  /** @internal Called once by the communicator with the outcome. */
  _settle(status: Status | undefined, error: ZcmpiError | undefined): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#status = status;
    this.#error = error;
    this._buf = null;
    this._keep = null;
    if (this.#observed) this.#observeCompletion();
    const listeners = this.#listeners;
    this.#listeners = null;
    if (listeners !== null) for (const l of listeners) l();
  }

  #markObserved(): void {
    if (this.#settled) this.#observeCompletion();
    if (this.#observed) return;
    this.#observed = true;
    if (this.#error) this.#host.observed(this.#error);
  }

  /** Settled and awaited, waited for, tested true or waitall'ed: the program has seen it. */
  #observeCompletion(): void {
    if (this.#completionObserved) return;
    this.#completionObserved = true;
    this.#host.completionObserved(this);
  }
}
