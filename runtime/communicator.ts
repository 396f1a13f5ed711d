// Communicator: the rank program's handle on the job (what init() returns).

import type { GuardMode, KvClient } from './bootstrap.js';
import { allocView, type AllocConstructor, type AllocResult } from './alloc.js';
import { loopTurn, type CommRoute, type Engine } from './engine.js';
import { ArgumentError, FinalizedError, MultipleErrors, StateError, ZcmpiError, fromNative } from './errors.js';
import type { BufferLike } from './native.js';
import { Request } from './request.js';
import type { Status } from './status.js';
import { applyStrictExit } from './strict-exit.js';
import { Collectives, type Counts } from './collectives.js';
import { ID_WORDS, MAX_COMMUNICATORS, UNDEFINED, firstFreeFrom, idCursor, markFree, markUsed, usedIds } from './communicator-ids.js';
import type { CollectiveBuffer, InPlace, ReduceOp, ReduceOpName } from './ops.js';
import { checkRank, fail } from './validate.js';

/** How long finalize waits for the peers' final goodbyes before tearing down anyway. */
const FENCE_TIMEOUT_MS = 30_000;
/**
 * After this long waiting for the program's own requests, finalize says which (once) and keeps
 * waiting: a receive no rank will ever match would otherwise leave the job silent until the
 * launcher's timeout. The same 10 s as a guard's long-wait message.
 */
const FINALIZE_REPORT_MS = 10_000;

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
  /** The communicator's id: its matching context on the wire (0: the world). */
  readonly #commId: number;
  /** World rank of each member (the world: identity). */
  readonly #members: Int32Array;
  #freed = false;
  /** Freed or finalizing: every call goes through #enter, which throws. */
  #closed = false;
  /** Strict guard mode: posts carry the program's stack (see #stack). */
  readonly #strict: boolean;
  readonly #coll: Collectives;
  /** Point-to-point routing of a split()/dup() communicator (undefined: the world's fast path). */
  readonly #route: CommRoute | undefined;

  /** @internal created by init() */
  constructor(engine: Engine, kv: KvClient, rank: number, size: number, guard: GuardMode, transport: string,
    sub?: { id: number; members: Int32Array }) {
    this.#engine = engine;
    this.#commId = sub ? sub.id : 0;
    this.#members = sub ? sub.members : Int32Array.from({ length: size }, (_, i) => i);
    this.#route = sub ? { id: sub.id, rank } : undefined;
    this.#kv = kv;
    this.rank = rank;
    this.size = size;
    this.guard = guard;
    this.#strict = guard === 'strict';
    this.transport = transport;
    const self = this;
    this.#coll = new Collectives({
      engine, commId: this.#commId, rank, size,
      enter: (call: string) => self.#enter(call),
      stack: () => self.#stack(),
    });
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

  // The point-to-point calls are one line each: the whole call runs in one Engine method
  // (Engine.start, Engine.transfer), which V8 compiles once for every call site. A program's
  // loop that calls them inlines only this line, so optimizing that loop (which happens on
  // the rank's own CPU, while its messages wait) stays small, and none of the call's rare
  // paths lives in the program's code, where reaching one would throw its optimized code away.

  /** Starts sending `buf` to rank `dest`; returns at once. `tag` defaults to 0. */
  isend(buf: BufferLike, dest: number, tag?: number): Request {
    if (this.#closed) this.#enter('isend');
    return this.#engine.start(false, buf, dest, tag, this.size, this.#route, this.#strict ? this.#stack() : undefined);
  }

  /** Starts receiving into `buf` from `source` (or ANY_SOURCE) with `tag` (or ANY_TAG; default 0). */
  irecv(buf: BufferLike, source: number, tag?: number): Request {
    if (this.#closed) this.#enter('irecv');
    return this.#engine.start(true, buf, source, tag, this.size, this.#route, this.#strict ? this.#stack() : undefined);
  }

  /**
   * Sends and resolves when the send completed. The call polls before returning (see
   * Engine.transfer and SpinPolicy), so the buffer needs a guard only if the transfer is
   * still in flight after that: no protection change for most sends.
   */
  send(buf: BufferLike, dest: number, tag?: number): Promise<Status> {
    if (this.#closed) return this.#rejected('send');
    return this.#engine.transfer(false, buf, dest, tag, this.size, this.#route, this.#strict ? this.#stack() : undefined);
  }

  /** Receives and resolves when the message is in `buf` (see send for the guard). */
  recv(buf: BufferLike, source: number, tag?: number): Promise<Status> {
    if (this.#closed) return this.#rejected('recv');
    return this.#engine.transfer(true, buf, source, tag, this.size, this.#route, this.#strict ? this.#stack() : undefined);
  }

  /** A call on a freed or finalizing communicator: the promise of its error (#enter throws it). */
  #rejected(call: string): Promise<Status> {
    try {
      this.#enter(call);
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.reject(new FinalizedError(call));
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

  // ---- collectives (runtime/collectives.ts checks, native/protocol/collectives runs) ----
  // Counts and displacements are in elements of the buffers' element type. IN_PLACE goes
  // where MPI allows MPI_IN_PLACE. A JavaScript function op works with the blocking forms.
  // The blocking forms are not async functions: a collective that completes inside its call
  // returns one shared resolved promise, with no promise of its own and no await in between
  // (a bad argument still rejects, as from an async function).

  /** Resolves when every rank has entered the barrier. Runs natively (dissemination). */
  barrier(): Promise<void> {
    try { return this.#coll.run(this.#coll.barrier('barrier')); } catch (e) { return Promise.reject(e); }
  }

  ibarrier(): Request {
    return this.#coll.start(this.#coll.barrier('ibarrier'));
  }

  /** Copies `buf` of rank `root` into `buf` of every rank. */
  bcast(buf: CollectiveBuffer, root: number): Promise<void> {
    try { return this.#coll.run(this.#coll.bcast('bcast', buf, root)); } catch (e) { return Promise.reject(e); }
  }

  ibcast(buf: CollectiveBuffer, root: number): Request {
    return this.#coll.start(this.#coll.bcast('ibcast', buf, root));
  }

  /** Combines every rank's `send` with `op` into `recv` of `root` (recv may be null elsewhere). */
  reduce(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer | null, op: ReduceOp, root: number): Promise<void> {
    try { return this.#coll.run(this.#coll.reduction('reduce', 'reduce', send, recv, op, root, true)); } catch (e) { return Promise.reject(e); }
  }

  ireduce(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer | null, op: ReduceOpName, root: number): Request {
    return this.#coll.start(this.#coll.reduction('ireduce', 'reduce', send, recv, op, root, false));
  }

  /** Combines every rank's `send` with `op` into every rank's `recv` (send may be IN_PLACE). */
  allreduce(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer, op: ReduceOp): Promise<void> {
    try { return this.#coll.run(this.#coll.reduction('allreduce', 'allreduce', send, recv, op, 0, true)); } catch (e) { return Promise.reject(e); }
  }

  iallreduce(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer, op: ReduceOpName): Request {
    return this.#coll.start(this.#coll.reduction('iallreduce', 'allreduce', send, recv, op, 0, false));
  }

  /** Concatenates every rank's `send` in rank order into `recv` of `root`. */
  gather(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer | null, root: number): Promise<void> {
    try { return this.#coll.run(this.#coll.gather('gather', send, recv, root)); } catch (e) { return Promise.reject(e); }
  }

  igather(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer | null, root: number): Request {
    return this.#coll.start(this.#coll.gather('igather', send, recv, root));
  }

  /** Splits `send` of `root` into equal blocks, block i to rank i's `recv`. */
  scatter(send: CollectiveBuffer | null, recv: CollectiveBuffer | InPlace, root: number): Promise<void> {
    try { return this.#coll.run(this.#coll.scatter('scatter', send, recv, root)); } catch (e) { return Promise.reject(e); }
  }

  iscatter(send: CollectiveBuffer | null, recv: CollectiveBuffer | InPlace, root: number): Request {
    return this.#coll.start(this.#coll.scatter('iscatter', send, recv, root));
  }

  /** Concatenates every rank's `send` in rank order into every rank's `recv`. */
  allgather(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer): Promise<void> {
    try { return this.#coll.run(this.#coll.allgather('allgather', send, recv)); } catch (e) { return Promise.reject(e); }
  }

  iallgather(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer): Request {
    return this.#coll.start(this.#coll.allgather('iallgather', send, recv));
  }

  /** Block j of rank i's `send` becomes block i of rank j's `recv`. */
  alltoall(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer): Promise<void> {
    try { return this.#coll.run(this.#coll.alltoall('alltoall', send, recv)); } catch (e) { return Promise.reject(e); }
  }

  ialltoall(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer): Request {
    return this.#coll.start(this.#coll.alltoall('ialltoall', send, recv));
  }

  /** gather with per-rank counts and displacements (root's arguments; others may pass null). */
  gatherv(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer | null, counts: Counts | null, displs: Counts | null, root: number): Promise<void> {
    try { return this.#coll.run(this.#coll.gatherv('gatherv', send, recv, counts, displs, root)); } catch (e) { return Promise.reject(e); }
  }

  igatherv(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer | null, counts: Counts | null, displs: Counts | null, root: number): Request {
    return this.#coll.start(this.#coll.gatherv('igatherv', send, recv, counts, displs, root));
  }

  /** scatter with per-rank counts and displacements (root's arguments); recv holds counts[rank]. */
  scatterv(send: CollectiveBuffer | null, counts: Counts | null, displs: Counts | null, recv: CollectiveBuffer | InPlace, root: number): Promise<void> {
    try { return this.#coll.run(this.#coll.scatterv('scatterv', send, counts, displs, recv, root)); } catch (e) { return Promise.reject(e); }
  }

  iscatterv(send: CollectiveBuffer | null, counts: Counts | null, displs: Counts | null, recv: CollectiveBuffer | InPlace, root: number): Request {
    return this.#coll.start(this.#coll.scatterv('iscatterv', send, counts, displs, recv, root));
  }

  /** allgather with per-rank counts and displacements (the same on every rank). */
  allgatherv(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer, counts: Counts, displs: Counts): Promise<void> {
    try { return this.#coll.run(this.#coll.allgatherv('allgatherv', send, recv, counts, displs)); } catch (e) { return Promise.reject(e); }
  }

  iallgatherv(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer, counts: Counts, displs: Counts): Request {
    return this.#coll.start(this.#coll.allgatherv('iallgatherv', send, recv, counts, displs));
  }

  /** alltoall with per-peer counts and displacements on both sides. */
  alltoallv(send: CollectiveBuffer | InPlace, sendCounts: Counts | null, sendDispls: Counts | null,
    recv: CollectiveBuffer, recvCounts: Counts, recvDispls: Counts): Promise<void> {
    try { return this.#coll.run(this.#coll.alltoallv('alltoallv', send, sendCounts, sendDispls, recv, recvCounts, recvDispls)); } catch (e) { return Promise.reject(e); }
  }

  ialltoallv(send: CollectiveBuffer | InPlace, sendCounts: Counts | null, sendDispls: Counts | null,
    recv: CollectiveBuffer, recvCounts: Counts, recvDispls: Counts): Request {
    return this.#coll.start(this.#coll.alltoallv('ialltoallv', send, sendCounts, sendDispls, recv, recvCounts, recvDispls));
  }

  /** Reduces `send` (sum of counts elements) and leaves block `rank` (counts[rank]) in `recv`. */
  reduceScatter(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer, counts: Counts, op: ReduceOp): Promise<void> {
    try { return this.#coll.run(this.#coll.reduceScatter('reduceScatter', send, recv, counts, op, true)); } catch (e) { return Promise.reject(e); }
  }

  ireduceScatter(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer, counts: Counts, op: ReduceOpName): Request {
    return this.#coll.start(this.#coll.reduceScatter('ireduceScatter', send, recv, counts, op, false));
  }

  /** reduceScatter with equal blocks of recv's length. */
  reduceScatterBlock(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer, op: ReduceOp): Promise<void> {
    try { return this.#coll.run(this.#coll.reduceScatterBlock('reduceScatterBlock', send, recv, op, true)); } catch (e) { return Promise.reject(e); }
  }

  ireduceScatterBlock(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer, op: ReduceOpName): Request {
    return this.#coll.start(this.#coll.reduceScatterBlock('ireduceScatterBlock', send, recv, op, false));
  }

  /** Inclusive prefix reduction: rank i gets send(0) op ... op send(i). */
  scan(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer, op: ReduceOp): Promise<void> {
    try { return this.#coll.run(this.#coll.reduction('scan', 'scan', send, recv, op, 0, true)); } catch (e) { return Promise.reject(e); }
  }

  iscan(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer, op: ReduceOpName): Request {
    return this.#coll.start(this.#coll.reduction('iscan', 'scan', send, recv, op, 0, false));
  }

  /** Exclusive prefix reduction: rank i > 0 gets send(0) op ... op send(i-1); rank 0's recv is untouched. */
  exscan(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer, op: ReduceOp): Promise<void> {
    try { return this.#coll.run(this.#coll.reduction('exscan', 'exscan', send, recv, op, 0, true)); } catch (e) { return Promise.reject(e); }
  }

  iexscan(send: CollectiveBuffer | InPlace, recv: CollectiveBuffer, op: ReduceOpName): Request {
    return this.#coll.start(this.#coll.reduction('iexscan', 'exscan', send, recv, op, 0, false));
  }

  /**
   * Ends this rank's participation: completes every outstanding request (including ones
   * nobody awaited), runs a final barrier, closes connections, lifts every guard. Throws
   * errors of requests that nobody saw. In strict mode, sets the exit status to 66 if a
   * hazard was reported.
   */
  async finalize(): Promise<void> {
    if (this.#commId !== 0) throw new StateError('zcmpi: finalize: call it on the world communicator (the one init() returned)');
    const engine = this.#engine;
    if (this.#finalizing || engine.finalized) throw new FinalizedError('finalize');
    this.#finalizing = true;
    this.#closed = true;
    let failure: unknown;
    try {
      // 1. Everything the program posted, awaited or not.
      for (let left = engine.outstanding(); left.length > 0; left = engine.outstanding()) {
        await reportingLongWait(Promise.all(left.map(r => r._whenSettled())), left, this.rank);
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
    if (this.#freed) throw new StateError(`zcmpi: ${call}: the communicator has been freed`);
    if (this.#finalizing && !this.#engine.finalized) throw new FinalizedError(call);
    this.#engine.checkpoint(call);
  }

  // ---- communicators ----

  /** The world rank of member `rank` of this communicator. */
  worldRank(rank: number): number {
    checkRank('worldRank', 'rank', rank, this.size, false);
    return this.#members[rank];
  }

  /**
   * Splits the ranks into one communicator per `color` (a non-negative integer), ranked by
   * `key` (ties: this communicator's rank order). Collective. Ranks passing UNDEFINED take
   * part but get null.
   */
  async split(color: number, key = 0): Promise<Communicator | null> {
    this.#enter('split');
    if (typeof color !== 'number' || !Number.isInteger(color) || (color < 0 && color !== UNDEFINED) || color > 0x7fffffff) {
      fail('split', 'color', 'must be a non-negative integer or UNDEFINED', color);
    }
    if (typeof key !== 'number' || !Number.isInteger(key) || key < -0x80000000 || key > 0x7fffffff) {
      fail('split', 'key', 'must be a 32-bit integer', key);
    }
    // One allgather: every member's color, key, id cursor and the ids its process uses
    // (communicator-ids.ts: the first id free on all, at or after the largest cursor).
    const words = 3 + ID_WORDS;
    const mine = new Int32Array(words);
    mine[0] = color;
    mine[1] = key;
    mine[2] = idCursor();
    mine.set(new Int32Array(usedIds().buffer), 3);
    const all = new Int32Array(words * this.size);
    await this.allgather(mine, all);
    const union = new Uint32Array(ID_WORDS);
    let from = 1;
    for (let r = 0; r < this.size; r++) {
      from = Math.max(from, all[r * words + 2]);
      for (let w = 0; w < ID_WORDS; w++) union[w] |= all[r * words + 3 + w];
    }
    const id = firstFreeFrom(union, from);
    if (id < 0) throw new StateError(`zcmpi: split: all ${MAX_COMMUNICATORS} communicator ids are in use; free() some`);
    if (color === UNDEFINED) return null;
    const group: Array<{ rank: number; key: number }> = [];
    for (let r = 0; r < this.size; r++) {
      if (all[r * words] === color) group.push({ rank: r, key: all[r * words + 1] });
    }
    group.sort((a, b) => a.key - b.key || a.rank - b.rank);
    const members = Int32Array.from(group, g => this.#members[g.rank]);
    const newRank = group.findIndex(g => g.rank === this.rank);
    try {
      this.#engine.native.commAddComm(id, newRank, members);
    } catch (e) {
      throw fromNative(e);
    }
    markUsed(id);
    return new Communicator(this.#engine, this.#kv, newRank, members.length, this.guard, this.transport, { id, members });
  }

  /** A communicator with the same members and ranks, and its own matching context. Collective. */
  async dup(): Promise<Communicator> {
    this.#enter('dup');
    return (await this.split(0, this.rank)) as Communicator;
  }

  /**
   * Frees a communicator from split()/dup(): later calls on it throw. Operations still in
   * flight on it (point-to-point and collectives) complete normally, as with MPI_Comm_free.
   * Every member frees it; its id comes back for later splits only after every other id was
   * taken since, so a message left unreceived on it is not matched by a new communicator.
   */
  free(): void {
    if (this.#commId === 0) throw new StateError('zcmpi: free: the world communicator cannot be freed; finalize() ends it');
    if (this.#freed) throw new StateError('zcmpi: free: the communicator has already been freed');
    this.#freed = true;
    this.#closed = true;
    if (!this.#engine.finalized) this.#engine.native.commRemoveComm(this.#commId);
    markFree(this.#commId);
  }

  #stack(): string | undefined {
    // Only strict mode prints where a request was posted; capturing a stack costs microseconds.
    if (this.guard !== 'strict') return undefined;
    const s = new Error('posted here').stack ?? '';
    // Drop the "Error: posted here" line and our own frames.
    return s.split('\n').slice(1).filter(l => !l.includes('/runtime/communicator.')).join('\n');
  }
}

/** p, and one line on stderr naming the requests if it takes over FINALIZE_REPORT_MS. */
function reportingLongWait<T>(p: Promise<T>, waiting: readonly Request[], rank: number): Promise<T> {
  const t = setTimeout(() => {
    const shown = waiting.filter(r => !r._settled).slice(0, 8)
      .map(r => `${r.call} #${r.id} (${r.call.includes('recv') ? 'source' : 'dest'} ${r.peer < 0 ? 'any' : r.peer}, ` +
        `tag ${r.tag < 0 ? 'any' : r.tag})`);
    const more = waiting.filter(r => !r._settled).length - shown.length;
    process.stderr.write(`zcmpi: rank ${rank}: finalize has waited ${FINALIZE_REPORT_MS / 1000} s for requests the program ` +
      `posted and never completed: ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}; it keeps waiting ` +
      `(every request must complete before finalize, as in MPI: a receive no rank sends to never does)\n`);
  }, FINALIZE_REPORT_MS);
  t.unref();
  return p.finally(() => clearTimeout(t));
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s`)), ms);
    p.then(v => { clearTimeout(t); resolve(v); }, e => { clearTimeout(t); reject(e); });
  });
}
