// Engine: the JavaScript half of the request table. Owns slot numbers, the typed-array views
// of the native status words, completion delivery (drain), the set of outstanding requests
// (which keeps their buffers alive, whatever the program drops) and the errors that no one
// has seen yet.

import { FinalizedError, TransportError, fromNative, requestError, type ZcmpiError } from './errors.js';
import {
  F64_BYTES, F_ERROR, F_QUEUED, F_SOURCE, F_STATE, F_TAG, H_BACKGROUND_ERRORS, H_NOTIFY_WANTED, H_QUEUED,
  SLOT_F64, SLOT_I32, STATE_DONE, type BufferLike, type NativeAddon, type NativeCreated, type PostOutcome,
} from './native.js';
import { Request, type RequestHost } from './request.js';
import { SpinKind, SpinPolicy } from './spin-policy.js';
import type { RequestCall, Status } from './status.js';
import { checkBuffer, checkRank, checkTag } from './validate.js';

/** Longest stretch of blocking calls that completed at once without an event-loop turn. */
const YIELD_AFTER_MS = 10;
/** Request numbers of prime.ts's messages (never seen by a program; a small integer to V8, as the program's are). */
const PRIME_FIRST_ID = 2 ** 30;
/**
 * Resolves after the event loop went through a whole turn, timers and I/O included: an
 * immediate set from the poll phase runs in the same turn's check phase (no timers phase in
 * between), so the second one, set from the check phase, waits for the next turn.
 */
export const loopTurn = (): Promise<void> => new Promise(resolve => setImmediate(() => setImmediate(resolve)));

/**
 * The communicator a point-to-point operation belongs to, when it is not the world: its id
 * (matching context) and this rank's number in it (native p2p_post.cpp translates peers).
 */
export interface CommRoute {
  readonly id: number;
  readonly rank: number;
}

export class Engine implements RequestHost {
  readonly native: NativeAddon;
  readonly rank: number;
  /**
   * Requests by slot. Every request posted and not yet completed is here, so buffers in
   * flight stay reachable whatever the program drops. (An array, not a Set: adding and
   * deleting one request per message made the Set reallocate its table, measurably.)
   */
  private readonly bySlot: Array<Request | undefined> = [];
  finalized = false;
  /** Nanoseconds a waiting call polls on this thread before it sleeps. */
  spinNs: number;

  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly header: Int32Array;
  private readonly drained: Int32Array;
  private readonly capacity: number;
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private nextId = 1;
  private awaited = 0;
  /** Operations posted so far (SpinPolicy: did the program post between a poll and its completion?). */
  private posts = 0;
  /** Poll budgets (ns) of the blocking send, recv and await; see SpinPolicy. */
  private readonly spinPolicy: SpinPolicy;
  /**
   * Errors of completed requests the program has not seen, oldest first, with the turn
   * their request was posted in. The next call throws one only if its request was posted in
   * an earlier turn of the event loop: a program that posts several requests and then
   * awaits them (in the same synchronous run) has not dropped them.
   */
  private readonly unseen: Array<{ err: ZcmpiError; turn: number }> = [];
  /** Event-loop turns, counted lazily (a setImmediate after each call that needs it). */
  private turn = 0;
  private turnScheduled = false;
  private readonly nextTurn = (): void => {
    this.turn++;
    this.turnScheduled = false;
  };

  /**
   * Blocking calls that completed inside the call never return to the event loop (their
   * promise is already resolved), so a loop of them would starve timers and I/O. Every
   * 128th such call looks at the clock, and past YIELD_AFTER_MS without a turn of the event
   * loop the next one waits for a turn (setImmediate) before it resolves.
   */
  private fastCalls = 0;
  private loopTurnPending = false;
  // A double from the start: a field that starts as a small integer and later holds a
  // double changes the Engine's hidden class, which throws away every optimized function
  // that uses an Engine (measured: all of post/start/observe/waitall at window ~128).
  private lastLoopTurnMs = Number.NaN;
  private readonly loopTurned = (): void => {
    this.loopTurnPending = false;
    this.lastLoopTurnMs = performance.now();
  };

  /** Strict guard mode: completions are reported to the native side when observed. */
  readonly strict: boolean;

  constructor(native: NativeAddon, created: NativeCreated, rank: number, spinNs: number, strict = false) {
    this.native = native;
    this.strict = strict;
    this.rank = rank;
    this.spinNs = spinNs;
    this.spinPolicy = new SpinPolicy(spinNs);
    this.i32 = new Int32Array(created.status);
    this.f64 = new Float64Array(created.status);
    this.header = new Int32Array(created.header);
    this.drained = new Int32Array(created.drain);
    this.capacity = created.capacity;
    this.settleFieldShapes();
  }

  /**
   * V8 compiles a field written only once as a constant, and the first later write then
   * throws away every optimized function that relied on it. The fields below change only
   * now and then (the first event-loop turn, the every-128th clock look, finalize): left
   * alone, each first change deoptimized post/start/observe/waitall mid-job (measured:
   * twice in the first 300 windows of 64 messages, each followed by 50-100 ms of
   * recompiling). Writing each a second time here makes it mutable before anything is
   * compiled.
   */
  private settleFieldShapes(): void {
    this.finalized = true;
    this.finalized = false;
    this.turn = 1;
    this.turn = 0;
    this.turnScheduled = true;
    this.turnScheduled = false;
    this.fastCalls = 1;
    this.fastCalls = 0;
    this.loopTurnPending = true;
    this.loopTurnPending = false;
    this.lastLoopTurnMs = 0.5;
    this.lastLoopTurnMs = Number.NaN;
    this.awaited = 1;
    this.awaited = 0;
    this.posts = 1;
    this.posts = 0;
    this.nextSlot = 1;
    this.nextSlot = 0;
    this.nextId = 2;
    this.nextId = 1;
  }

  /** Called by the native side (thread-safe function) after completions were published. */
  readonly onNotify = (): void => {
    if (!this.finalized) this.drain();
  };

  /**
   * prime.ts: runs fn with request numbers from a range of their own, then puts back what a
   * program sees (its first request is still #1, the event-loop look starts afresh).
   */
  async primeWith(fn: () => Promise<void>): Promise<void> {
    const firstId = this.nextId;
    this.nextId = PRIME_FIRST_ID;
    try {
      await fn();
    } finally {
      this.nextId = firstId;
      this.fastCalls = 0;
      this.spinPolicy.primeOnePass(false);
    }
  }

  /** prime.ts: every poll one pass (true), or back to the SpinPolicy's budgets with its lessons forgotten. */
  primeOnePass(on: boolean): void {
    this.spinPolicy.primeOnePass(on);
  }

  /**
   * prime.ts: the next fast call looks at the event loop (every 128th does), and finds it
   * starved (the blocking call or waitall then lets it turn) or not (the look starts a turn).
   */
  primeLoopLook(starved: boolean): void {
    this.fastCalls |= 127;
    if (!starved) return;
    if (!this.loopTurnPending) setImmediate(this.loopTurned).unref();
    this.loopTurnPending = true;
    this.lastLoopTurnMs = Number.NEGATIVE_INFINITY;
  }

  /** The requests still in flight. */
  outstanding(): Request[] {
    const out: Request[] = [];
    for (let i = 0; i < this.nextSlot; i++) {
      const r = this.bySlot[i];
      if (r !== undefined && !r._settled) out.push(r);
    }
    return out;
  }

  // ---- posting ----

  /**
   * Posts one operation. The native call is spelled out per kind (no closure: this runs for
   * every message, and allocation here showed up as garbage-collection time in ping-pong).
   * stack: strict mode's JS stack.
   */
  post(call: RequestCall, buf: BufferLike | null, peer: number, tag: number, stack?: string, comm?: CommRoute): Request {
    const slot = this.allocSlot();
    const id = this.nextId++;
    this.posts++;
    const commId = comm === undefined ? 0 : comm.id;
    let outcome: PostOutcome;
    try {
      if (call === 'isend') outcome = this.native.commIsend(slot, id, buf as BufferLike, peer, tag, stack, false, commId);
      else if (call === 'irecv') outcome = this.native.commIrecv(slot, id, buf as BufferLike, peer, tag, stack, false, commId);
      else outcome = this.native.commBarrier(slot, id);
    } catch (e) {
      // The native side either never took the slot or completed it at once with the error.
      this.freeSlot(slot);
      throw e;
    }
    const r = new Request(this, slot, buf, call, peer, tag, id);
    r._selfRank = comm === undefined ? this.rank : comm.rank;
    r._turn = this.currentTurn();
    this.bySlot[slot] = r;
    if (outcome === 1) this.observe(r); // completed inside the call (maybe queued by another thread)
    this.afterNative();
    return r;
  }

  /**
   * The whole of isend (recv false) and irecv (recv true) after the communicator's own
   * check: delivered completions and unseen errors, the arguments, the post. size: the
   * communicator's; stack: strict mode's JS stack.
   */
  start(recv: boolean, buf: unknown, peer: unknown, tag: unknown, size: number, route: CommRoute | undefined,
    stack: string | undefined): Request {
    const call = recv ? 'irecv' : 'isend';
    // As in transfer(): the checks spelled out for the common case (nothing to deliver or
    // throw first, plainly valid arguments), the checking functions for everything else.
    const t0 = tag === undefined ? 0 : tag;
    const low = recv ? -1 : 0;
    let view: BufferLike;
    let p: number;
    let t: number;
    if (this.finalized || this.header[H_QUEUED] !== 0 || this.header[H_BACKGROUND_ERRORS] !== 0 ||
      this.unseen.length !== 0 || !ArrayBuffer.isView(buf) || typeof peer !== 'number' || (peer | 0) !== peer ||
      peer < low || peer >= size || typeof t0 !== 'number' || (t0 | 0) !== t0 || t0 < low) {
      this.checkpoint(call);
      view = checkBuffer(call, buf);
      p = checkRank(call, recv ? 'source' : 'dest', peer, size, recv);
      t = checkTag(call, tag, recv);
    } else {
      view = buf;
      p = peer;
      t = t0;
    }
    try {
      return this.post(call, view, p, t, stack, route);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /**
   * Posts an operation the caller starts natively with (slot, id) (the collectives,
   * runtime/collectives.ts). buf: the buffer kept reachable while it is in flight.
   */
  postWith(call: RequestCall, buf: BufferLike | null, start: (slot: number, id: number) => PostOutcome): Request {
    const slot = this.allocSlot();
    const id = this.nextId++;
    let outcome: PostOutcome;
    try {
      outcome = start(slot, id);
    } catch (e) {
      this.freeSlot(slot);
      throw e;
    }
    const r = new Request(this, slot, buf, call, -1, -1, id);
    r._turn = this.currentTurn();
    this.bySlot[slot] = r;
    if (outcome === 1) this.observe(r);
    this.afterNative();
    return r;
  }

  /**
   * The whole of the blocking send (recv false) and recv (recv true), as start() is of
   * isend/irecv: one native call posts the operation without a guard, polls for it on this
   * thread (SpinPolicy says how long) and guards the buffer only if it is still in flight
   * after that. Completed (the common case): an already resolved promise of its Status, with
   * no Request and no slot left behind. Still in flight: the promise of a guarded Request.
   * Never throws: an error is the promise's.
   *
   * This runs for every message, first in V8's interpreter (a job's first hundreds of
   * messages), so the common case is spelled out in this one function: no call but the
   * native one when nothing is waiting to be delivered or thrown, the arguments are plainly
   * valid and the operation completes inside the call; anything else takes the general path
   * (transferChecked), which checks and reports exactly as before.
   */
  transfer(recv: boolean, buf: unknown, peer: unknown, tag: unknown, size: number, route: CommRoute | undefined,
    stack: string | undefined): Promise<Status> {
    const t = tag === undefined ? 0 : tag;
    const low = recv ? -1 : 0;  // ANY_SOURCE / ANY_TAG for receives
    const free = this.freeSlots;
    if (free.length === 0 || this.finalized || this.header[H_QUEUED] !== 0 || this.header[H_BACKGROUND_ERRORS] !== 0 ||
      this.unseen.length !== 0 || !ArrayBuffer.isView(buf) || typeof peer !== 'number' || (peer | 0) !== peer ||
      peer < low || peer >= size || typeof t !== 'number' || (t | 0) !== t || t < low) {
      return this.transferChecked(recv, buf, peer, tag, size, route, stack);
    }
    const slot = free.pop() as number;
    return this.blocking(recv, slot, buf, peer, t, stack, route);
  }

  /** transfer() with every check spelled out (and its error, if any, as the promise's). */
  private transferChecked(recv: boolean, buf: unknown, peer: unknown, tag: unknown, size: number,
    route: CommRoute | undefined, stack: string | undefined): Promise<Status> {
    let slot: number;
    let view: BufferLike;
    let p: number;
    let t: number;
    try {
      const call = recv ? 'recv' : 'send';
      this.checkpoint(call);
      view = checkBuffer(call, buf);
      p = checkRank(call, recv ? 'source' : 'dest', peer, size, recv);
      t = checkTag(call, tag, recv);
      slot = this.allocSlot();
    } catch (e) {
      return Promise.reject(fromNative(e));
    }
    return this.blocking(recv, slot, view, p, t, stack, route);
  }

  /** The post, poll and outcome of transfer(), on a slot taken from the free list. */
  private blocking(recv: boolean, slot: number, buf: BufferLike, peer: number, tag: number, stack: string | undefined,
    route: CommRoute | undefined): Promise<Status> {
    const id = this.nextId++;
    this.posts++;
    const kind = recv ? SpinKind.Recv : SpinKind.Send;
    const self = route === undefined ? this.rank : route.rank;
    // A receive from this rank itself can only be matched by a send the program has yet to
    // post: one progress pass, no poll.
    const spin = recv && peer === self ? 0 : this.spinPolicy.budget(kind, buf.byteLength);
    let outcome: PostOutcome;
    try {
      outcome = route === undefined
        ? this.native.commPostWait(recv, slot, id, buf, peer, tag, stack, spin)
        : this.native.commPostWait(recv, slot, id, buf, peer, tag, stack, spin, route.id);
    } catch (e) {
      this.freeSlot(slot);
      return Promise.reject(fromNative(e));
    }
    const call = recv ? 'irecv' : 'isend';
    if (outcome !== 1) return this.blockingInFlight(call, slot, id, buf, peer, tag, self, kind);
    this.spinPolicy.succeeded(kind);
    const base = slot * SLOT_I32;
    const i32 = this.i32;
    const code = i32[base + F_ERROR];
    const source = recv ? i32[base + F_SOURCE] : self;
    const doneTag = i32[base + F_TAG];
    const bytes = this.f64[slot * SLOT_F64 + F64_BYTES];
    const message = code === 0 ? '' : this.native.commErrorMessage(slot);
    // A completion the progress thread queued is freed when it is drained.
    if (i32[base + F_QUEUED] === 0) this.freeSlots.push(slot);
    // Through afterNative, whose feedback the earlier calls (prime.ts) filled in: a drain
    // call spelled out here has none until a completion is first queued during this call,
    // and optimized code reaching it then was thrown away and compiled again (5-6 ms on the
    // rank's CPU, --trace-deopt, a few hundred trips into a ping-pong).
    this.afterNative();
    if (code !== 0) return Promise.reject(requestError(code, message, { call, peer, tag, id }, buf.byteLength, source, doneTag));
    const status: Status = { source, tag: doneTag, bytes };
    // Every 128th call looks whether the event loop needs a turn (see starvingLoop).
    if ((++this.fastCalls & 127) === 0 && this.loopNeedsTurn()) return loopTurn().then(() => status);
    return Promise.resolve(status);
  }

  /** A blocking send/recv whose poll ran out: now guarded, a Request to await. */
  private blockingInFlight(call: 'isend' | 'irecv', slot: number, id: number, buf: BufferLike, peer: number, tag: number,
    self: number, kind: SpinKind): Promise<Status> {
    const r = new Request(this, slot, buf, call, peer, tag, id);
    r._selfRank = self;
    r._turn = this.currentTurn();
    this.bySlot[slot] = r;
    this.spinPolicy.failed(kind, r, this.posts);
    this.afterNative();
    return r.then();
  }

  /** True when the caller should let the event loop turn before resolving (see fastCalls). */
  starvingLoop(): boolean {
    if ((++this.fastCalls & 127) !== 0) return false;
    return this.loopNeedsTurn();
  }

  /** The clock look of starvingLoop (every 128th fast call). */
  private loopNeedsTurn(): boolean {
    const now = performance.now();
    if (!this.loopTurnPending) {
      this.loopTurnPending = true;
      this.lastLoopTurnMs = now;
      setImmediate(this.loopTurned).unref();
      return false;
    }
    return now - this.lastLoopTurnMs > YIELD_AFTER_MS;
  }

  private currentTurn(): number {
    if (!this.turnScheduled) {
      this.turnScheduled = true;
      setImmediate(this.nextTurn).unref();
    }
    return this.turn;
  }

  // ---- RequestHost ----

  spin(r: Request): boolean {
    if (this.check(r)) return true;
    if (this.finalized) return false;
    // Its poll ran out already (the blocking send/recv): polling again would only hold up the
    // event loop for another budget.
    if (r._spinKind >= 0) return this.poke(r);
    const bytes = r._buf === null ? 0 : r._buf.byteLength;
    if (this.native.commPoll(r._slot, this.spinPolicy.budget(SpinKind.Await, bytes))) {
      this.spinPolicy.succeeded(SpinKind.Await);
      this.observe(r);
    }
    // Draining may complete r as well (it was queued after the poll's last look).
    this.afterNative();
    if (!r._settled && r._spinKind < 0) this.spinPolicy.failed(SpinKind.Await, r, this.posts);
    return r._settled;
  }

  /**
   * Polls on this thread until every request completed or the budget (the base spin plus
   * the time all their bytes take at 2 GB/s, capped at 20 ms) ran out. True if all are done.
   * waitall's fast path: no promise per request when the window completes while we poll.
   * Requests found complete need no clock read and no budget.
   */
  spinAll(reqs: readonly Request[]): boolean {
    const n = reqs.length;
    let i = 0;
    while (i < n && this.check(reqs[i])) i++;
    let all = true;
    if (i < n) {
      if (this.finalized) return false;
      let bytes = 0;
      for (let j = i; j < n; j++) {
        const r = reqs[j];
        if (!r._settled && r._buf !== null) bytes += r._buf.byteLength;
      }
      const deadline = performance.now() + this.spinPolicy.budget(SpinKind.Await, bytes) / 1e6;
      for (; i < n; i++) {
        const r = reqs[i];
        if (this.check(r)) continue;
        if (this.finalized) return false;
        const left = (deadline - performance.now()) * 1e6;
        if (left <= 0 || !this.native.commPoll(r._slot, left)) {
          all = false;
          break;
        }
        this.observe(r);
      }
    }
    this.afterNative();
    // Draining may have completed the rest; the first still in flight says how the poll failed.
    let last: Request | undefined;
    if (all) i = 0;
    for (; i < n; i++) {
      if (!reqs[i]._settled) {
        last = reqs[i];
        break;
      }
    }
    if (last === undefined) {
      this.spinPolicy.succeeded(SpinKind.Await);
      return true;
    }
    if (last._spinKind < 0) this.spinPolicy.failed(SpinKind.Await, last, this.posts);
    return false;
  }

  poke(r: Request): boolean {
    if (this.check(r)) return true;
    if (this.finalized) return false;
    if (this.native.commPoll(r._slot, 0)) this.observe(r);
    this.afterNative();
    return r._settled;
  }

  block(r: Request): void {
    if (this.check(r)) return;
    this.native.commWait(r._slot, 0);
    this.observe(r);
    this.afterNative();
  }

  check(r: Request): boolean {
    if (r._settled) return true;
    if (r._slot < 0 || Atomics.load(this.i32, r._slot * SLOT_I32 + F_STATE) !== STATE_DONE) return false;
    this.observe(r);
    return true;
  }

  awaitBegin(): void {
    if (this.awaited++ === 0) {
      Atomics.store(this.header, H_NOTIFY_WANTED, 1);
      this.native.commRefLoop(true);
      // A completion published just before the flag went up sent no notification.
      if (this.header[H_QUEUED] !== 0) queueMicrotask(() => this.drain());
    }
  }

  awaitEnd(): void {
    if (--this.awaited === 0) {
      Atomics.store(this.header, H_NOTIFY_WANTED, 0);
      if (!this.finalized) this.native.commRefLoop(false);
    }
  }

  observed(err: ZcmpiError): void {
    const i = this.unseen.findIndex(u => u.err === err);
    if (i >= 0) this.unseen.splice(i, 1);
  }

  usable(call: string): void {
    if (this.finalized) throw new FinalizedError(call);
  }

  completionObserved(r: Request): void {
    // Strict mode holds a finished request's guard until now (native Engine::observed).
    if (this.strict && r.call !== 'barrier' && !this.finalized) this.native.commObserved(r.id);
  }

  // ---- completion delivery ----

  /** At the start of every API call: deliver what completed, then throw what no one saw. */
  checkpoint(call: string): void {
    if (this.finalized) throw new FinalizedError(call);
    this.collect();
    if (this.unseen.length === 0) return;
    for (let i = 0; i < this.unseen.length; i++) {
      if (this.unseen[i].turn < this.turn) throw this.unseen.splice(i, 1)[0].err;
    }
  }

  /** Delivers completions and picks up errors of internal operations. */
  collect(): void {
    if (this.header[H_QUEUED] !== 0) this.drain();
    if (this.header[H_BACKGROUND_ERRORS] !== 0) {
      const m = this.native.commBackgroundError();
      if (m) this.unseen.push({ err: new TransportError(`zcmpi: ${m}`), turn: -1 });
    }
  }

  /** Errors nobody has seen yet (finalize reports them); clears the list. */
  takeUnseen(): ZcmpiError[] {
    this.collect();
    return this.unseen.splice(0).map(u => u.err);
  }

  /** Completions made on this thread by a native call never wake the event loop: drain now. */
  afterNative(): void {
    if (this.header[H_QUEUED] !== 0) this.drain();
  }

  drain(): void {
    const n = this.native.commDrain();
    for (let i = 0; i < n; i++) {
      const slot = this.drained[i];
      const r = this.bySlot[slot];
      if (r && !r._settled) this.complete(r);
      this.freeSlot(slot);
    }
  }

  /** A request seen complete outside drain: its slot is freed now unless it is still listed. */
  private observe(r: Request): void {
    const slot = r._slot;
    if (r._settled || slot < 0) return;
    this.complete(r);
    if (this.i32[slot * SLOT_I32 + F_QUEUED] === 0) this.freeSlot(slot);
  }

  private complete(r: Request): void {
    if (r._spinKind >= 0) this.spinPolicy.completed(r, this.posts);
    const base = r._slot * SLOT_I32;
    const code = this.i32[base + F_ERROR];
    const source = this.i32[base + F_SOURCE];
    const tag = this.i32[base + F_TAG];
    const bytes = this.f64[r._slot * SLOT_F64 + F64_BYTES];
    if (code === 0) {
      // A plain object (Status is readonly to TypeScript): Object.freeze is a call into V8's
      // runtime, about 400 instructions per status, 8% of a small message's whole cost
      // (bench/post-cost.sh).
      const status: Status = { source: r.call === 'isend' ? r._selfRank : source, tag, bytes };
      r._settle(status, undefined);
      return;
    }
    const bufferBytes = r._buf === null ? 0 : r._buf.byteLength;
    const err = requestError(code, this.native.commErrorMessage(r._slot),
      { call: r.call, peer: r.peer, tag: r.tag, id: r.id }, bufferBytes, source, tag);
    r._settle(undefined, err);
    if (!r._observed) this.unseen.push({ err, turn: r._turn });
  }

  // ---- slots ----

  private allocSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if (this.nextSlot >= this.capacity) {
      throw new TransportError(`zcmpi: more than ${this.capacity} requests in flight; complete some before posting more`);
    }
    return this.nextSlot++;
  }

  private freeSlot(slot: number): void {
    const r = this.bySlot[slot];
    if (r) {
      r._slot = -1;
      this.bySlot[slot] = undefined;
    }
    this.freeSlots.push(slot);
  }
}
