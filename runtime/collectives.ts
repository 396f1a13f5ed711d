// The collectives' argument checks, posting and the JavaScript-op fold. The schedules
// themselves are native (native/protocol/collectives/); this file turns each call into one
// native post with element counts, and checks everything that can be checked at the call:
// buffer kinds, element types, sizes, roots, counts and displacements, ops.

import type { Engine } from './engine.js';
import { fromNative } from './errors.js';
import type { BufferLike } from './native.js';
import {
  IN_PLACE, OP_JS, OP_NONE, TYPES, bytesOf, elementType, opCode, resolveBuffer, typedView,
  type CollectiveBuffer, type ElementType, type InPlace, type NumericArray, type ReduceFunction, type ReduceOp, type Resolved,
} from './ops.js';
import type { Request } from './request.js';
import type { RequestCall } from './status.js';
import { fail } from './validate.js';

/** Native collective kinds (native/protocol/collectives/collective.h Kind). */
export const KIND = {
  barrier: 0, bcast: 1, reduce: 2, allreduce: 3, gather: 4, scatter: 5, allgather: 6, alltoall: 7,
  gatherv: 8, scatterv: 9, allgatherv: 10, alltoallv: 11, reduceScatter: 12, reduceScatterBlock: 13,
  scan: 14, exscan: 15,
} as const;
export type CollectiveName = keyof typeof KIND;

/** Counts or displacements, in elements, one per rank. */
export type Counts = ArrayLike<number>;

/** What a communicator lends the collectives. */
export interface CollectiveHost {
  readonly engine: Engine;
  readonly commId: number;
  readonly rank: number;
  readonly size: number;
  /** Throws if the communicator cannot be used now (finalized, freed); delivers completions. */
  enter(call: string): void;
  /** Strict mode's stack of the call (guard reports), else undefined. */
  stack(): string | undefined;
}

interface Desc {
  call: string;
  name: CollectiveName;
  send: BufferLike | null;
  recv: BufferLike | null;
  type: ElementType;
  op: number;
  root: number;
  count: number;
  inPlace: boolean;
  sc: Float64Array | null;
  sd: Float64Array | null;
  rc: Float64Array | null;
  rd: Float64Array | null;
  fn: ReduceFunction | null;
}

function desc(call: string, name: CollectiveName, type: ElementType): Desc {
  return { call, name, send: null, recv: null, type, op: OP_NONE, root: 0, count: 0, inPlace: false, sc: null, sd: null, rc: null, rd: null, fn: null };
}

function checkRoot(call: string, root: unknown, size: number): number {
  if (typeof root !== 'number' || !Number.isInteger(root) || root < 0 || root >= size) {
    fail(call, 'root', `must be an integer rank in [0, ${size})`, root);
  }
  return root;
}

function elems(b: Resolved | null, type: ElementType): number {
  return b ? b.byteLength / TYPES[type].size : 0;
}

function atLeast(call: string, b: Resolved, type: ElementType, need: number, why: string): void {
  const have = elems(b, type);
  if (have < need) fail(call, b.argument, `is too small: it holds ${have} ${type} elements, ${why} needs ${need}`, b.bytes);
}

function counts(call: string, argument: string, v: unknown, size: number): Float64Array {
  if (v === null || v === undefined || typeof v !== 'object' || typeof (v as ArrayLike<number>).length !== 'number') {
    fail(call, argument, `must be an array of ${size} non-negative integers (elements)`, v);
  }
  const a = v as ArrayLike<number>;
  if (a.length !== size) fail(call, argument, `must have one entry per rank (${size}; it has ${a.length})`, v);
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const x = a[i];
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) {
      fail(call, `${argument}[${i}]`, 'must be a non-negative integer (elements)', x);
    }
    out[i] = x;
  }
  return out;
}

function within(call: string, b: Resolved, type: ElementType, c: Float64Array, d: Float64Array, cName: string, dName: string): void {
  const have = elems(b, type);
  for (let i = 0; i < c.length; i++) {
    if (d[i] + c[i] > have) {
      fail(call, b.argument, `is too small: ${dName}[${i}] + ${cName}[${i}] = ${d[i] + c[i]} elements, it holds ${have}`, b.bytes);
    }
  }
}

function sum(c: Float64Array): number {
  let s = 0;
  for (let i = 0; i < c.length; i++) s += c[i];
  return s;
}

const isInPlace = (v: unknown): v is InPlace => v === IN_PLACE;

/** What a blocking collective that completed inside its call returns. */
const DONE: Promise<void> = Promise.resolve();
/** A blocking collective still in flight after its poll: resolves (to nothing) when it completes. */
async function settled(r: Request): Promise<void> {
  await r;
}

/**
 * Where a collective's buffers live: on every rank ('all'); only the root's recv, with
 * send IN_PLACE allowed there ('toRoot': reduce, gather, gatherv); only the root's send,
 * with recv IN_PLACE allowed there ('fromRoot': scatter, scatterv). Unrooted collectives
 * allow send IN_PLACE everywhere.
 */
type Shape = 'all' | 'toRoot' | 'fromRoot';

/** One call's buffers after the root and IN_PLACE rules (the part every collective shares). */
interface Sides {
  root: number;
  isRoot: boolean;
  inPlace: boolean;
  s: Resolved | null;
  r: Resolved | null;
}

function required(call: string, argument: string, v: unknown, onRoot: boolean): Resolved {
  if (v === null || v === undefined) fail(call, argument, onRoot ? 'must be a buffer on the root' : 'must be a buffer', v);
  return resolveBuffer(call, argument, v);
}

function sides(call: string, h: CollectiveHost, shape: Shape, send: unknown, recv: unknown, root: unknown): Sides {
  const r0 = shape === 'all' ? 0 : checkRoot(call, root, h.size);
  const isRoot = shape === 'all' || h.rank === r0;
  const placeArg = shape === 'fromRoot' ? 'recv' : 'send';
  const inPlace = isInPlace(shape === 'fromRoot' ? recv : send);
  if (inPlace && !isRoot) fail(call, placeArg, 'may be IN_PLACE only on the root', shape === 'fromRoot' ? recv : send);
  if (shape === 'fromRoot') {
    return { root: r0, isRoot, inPlace, s: isRoot ? required(call, 'send', send, true) : null, r: inPlace ? null : resolveBuffer(call, 'recv', recv) };
  }
  const s = inPlace ? null : resolveBuffer(call, 'send', send);
  const r = isRoot ? required(call, 'recv', recv, shape === 'toRoot') : null;
  return { root: r0, isRoot, inPlace, s, r };
}

/** The descriptor of a call whose buffers are `x`: element type checked, buffers set. */
function described(call: string, name: CollectiveName, x: Sides, reduction: boolean): Desc {
  const d = desc(call, name, elementType(call, [x.s, x.r], reduction));
  d.root = x.root;
  d.inPlace = x.inPlace;
  d.send = x.s ? x.s.bytes : null;
  d.recv = x.r ? x.r.bytes : null;
  return d;
}

function setOp(d: Desc, call: string, op: ReduceOp, blocking: boolean): void {
  d.op = opCode(call, op, d.type, blocking);
  if (d.op === OP_JS) d.fn = op as ReduceFunction;
}

export class Collectives {
  readonly #h: CollectiveHost;

  constructor(host: CollectiveHost) {
    this.#h = host;
  }

  // ---- argument checks: one per collective, shared by the blocking and non-blocking forms ----

  barrier(call: string): Desc {
    return desc(call, 'barrier', 'uint8');
  }

  bcast(call: string, buf: CollectiveBuffer, root: number): Desc {
    const b = resolveBuffer(call, 'buf', buf);
    const d = desc(call, 'bcast', elementType(call, [b], false));
    d.root = checkRoot(call, root, this.#h.size);
    d.recv = b.bytes;
    d.count = elems(b, d.type);
    return d;
  }

  /** reduce, allreduce, scan, exscan: one input, one result of the same count. */
  reduction(call: string, name: 'reduce' | 'allreduce' | 'scan' | 'exscan', send: CollectiveBuffer | InPlace,
    recv: CollectiveBuffer | null, op: ReduceOp, root: number, blocking: boolean): Desc {
    const x = sides(call, this.#h, name === 'reduce' ? 'toRoot' : 'all', send, recv, root);
    const d = described(call, name, x, true);
    setOp(d, call, op, blocking);
    d.count = x.inPlace ? elems(x.r, d.type) : elems(x.s, d.type);
    if (x.r) atLeast(call, x.r, d.type, d.count, 'the reduction');
    return d;
  }

  gather(call: string, send: CollectiveBuffer | InPlace, recv: CollectiveBuffer | null, root: number): Desc {
    const size = this.#h.size;
    const x = sides(call, this.#h, 'toRoot', send, recv, root);
    const d = described(call, 'gather', x, false);
    d.count = x.inPlace ? Math.floor(elems(x.r, d.type) / size) : elems(x.s, d.type);
    if (x.r) atLeast(call, x.r, d.type, d.count * size, `gathering ${d.count} elements from each of ${size} ranks`);
    return d;
  }

  scatter(call: string, send: CollectiveBuffer | null, recv: CollectiveBuffer | InPlace, root: number): Desc {
    const size = this.#h.size;
    const x = sides(call, this.#h, 'fromRoot', send, recv, root);
    const d = described(call, 'scatter', x, false);
    d.count = x.inPlace ? Math.floor(elems(x.s, d.type) / size) : elems(x.r, d.type);
    if (x.s) atLeast(call, x.s, d.type, d.count * size, `scattering ${d.count} elements to each of ${size} ranks`);
    return d;
  }

  allgather(call: string, send: CollectiveBuffer | InPlace, recv: CollectiveBuffer): Desc {
    const size = this.#h.size;
    const x = sides(call, this.#h, 'all', send, recv, 0);
    const d = described(call, 'allgather', x, false);
    const r = x.r as Resolved;
    d.count = x.inPlace ? Math.floor(elems(r, d.type) / size) : elems(x.s, d.type);
    atLeast(call, r, d.type, d.count * size, `gathering ${d.count} elements from each of ${size} ranks`);
    return d;
  }

  alltoall(call: string, send: CollectiveBuffer | InPlace, recv: CollectiveBuffer): Desc {
    const size = this.#h.size;
    const x = sides(call, this.#h, 'all', send, recv, 0);
    const d = described(call, 'alltoall', x, false);
    const s = x.s, r = x.r as Resolved;
    const total = x.inPlace ? elems(r, d.type) : elems(s, d.type);
    if (s && total % size !== 0) {
      fail(call, 'send', `must hold one equal block per rank: ${total} elements is not a multiple of ${size}`, s.bytes);
    }
    d.count = Math.floor(total / size);
    atLeast(call, r, d.type, d.count * size, `receiving ${d.count} elements from each of ${size} ranks`);
    return d;
  }

  gatherv(call: string, send: CollectiveBuffer | InPlace, recv: CollectiveBuffer | null, rcounts: Counts | null,
    rdispls: Counts | null, root: number): Desc {
    const size = this.#h.size;
    const x = sides(call, this.#h, 'toRoot', send, recv, root);
    const d = described(call, 'gatherv', x, false);
    const s = x.s, r = x.r, r0 = x.root;
    if (r) {
      d.rc = counts(call, 'counts', rcounts, size);
      d.rd = counts(call, 'displs', rdispls, size);
      within(call, r, d.type, d.rc, d.rd, 'counts', 'displs');
      if (s && elems(s, d.type) !== d.rc[r0]) {
        fail(call, 'send', `must hold counts[${r0}] = ${d.rc[r0]} elements on the root (it holds ${elems(s, d.type)})`, s.bytes);
      }
    }
    d.count = x.inPlace ? d.rc![r0] : elems(s, d.type);
    return d;
  }

  scatterv(call: string, send: CollectiveBuffer | null, scounts: Counts | null, sdispls: Counts | null,
    recv: CollectiveBuffer | InPlace, root: number): Desc {
    const size = this.#h.size;
    const x = sides(call, this.#h, 'fromRoot', send, recv, root);
    const d = described(call, 'scatterv', x, false);
    const s = x.s, r = x.r, r0 = x.root;
    if (s) {
      d.sc = counts(call, 'counts', scounts, size);
      d.sd = counts(call, 'displs', sdispls, size);
      within(call, s, d.type, d.sc, d.sd, 'counts', 'displs');
      if (r && elems(r, d.type) < d.sc[r0]) atLeast(call, r, d.type, d.sc[r0], `counts[${r0}]`);
    }
    d.count = x.isRoot ? d.sc![r0] : elems(r, d.type);
    return d;
  }

  allgatherv(call: string, send: CollectiveBuffer | InPlace, recv: CollectiveBuffer, rcounts: Counts, rdispls: Counts): Desc {
    const size = this.#h.size;
    const x = sides(call, this.#h, 'all', send, recv, 0);
    const d = described(call, 'allgatherv', x, false);
    const s = x.s, r = x.r as Resolved;
    d.rc = counts(call, 'counts', rcounts, size);
    d.rd = counts(call, 'displs', rdispls, size);
    within(call, r, d.type, d.rc, d.rd, 'counts', 'displs');
    const me = this.#h.rank;
    if (s && elems(s, d.type) !== d.rc[me]) {
      fail(call, 'send', `must hold counts[${me}] = ${d.rc[me]} elements (it holds ${elems(s, d.type)})`, s.bytes);
    }
    d.count = d.rc[me];
    return d;
  }

  alltoallv(call: string, send: CollectiveBuffer | InPlace, scounts: Counts | null, sdispls: Counts | null,
    recv: CollectiveBuffer, rcounts: Counts, rdispls: Counts): Desc {
    const size = this.#h.size;
    const x = sides(call, this.#h, 'all', send, recv, 0);
    const d = described(call, 'alltoallv', x, false);
    const s = x.s, r = x.r as Resolved;
    d.rc = counts(call, 'recvCounts', rcounts, size);
    d.rd = counts(call, 'recvDispls', rdispls, size);
    within(call, r, d.type, d.rc, d.rd, 'recvCounts', 'recvDispls');
    if (s) {
      d.sc = counts(call, 'sendCounts', scounts, size);
      d.sd = counts(call, 'sendDispls', sdispls, size);
      within(call, s, d.type, d.sc, d.sd, 'sendCounts', 'sendDispls');
    } else {
      d.sc = d.rc;
      d.sd = d.rd;
    }
    return d;
  }

  reduceScatter(call: string, send: CollectiveBuffer | InPlace, recv: CollectiveBuffer, rcounts: Counts, op: ReduceOp,
    blocking: boolean): Desc {
    const size = this.#h.size;
    const x = sides(call, this.#h, 'all', send, recv, 0);
    const d = described(call, 'reduceScatter', x, true);
    setOp(d, call, op, blocking);
    const s = x.s, r = x.r as Resolved;
    d.rc = counts(call, 'counts', rcounts, size);
    const total = sum(d.rc);
    atLeast(call, s ?? r, d.type, total, 'the sum of counts');
    atLeast(call, r, d.type, d.rc[this.#h.rank], `counts[${this.#h.rank}]`);
    d.count = total;
    return d;
  }

  reduceScatterBlock(call: string, send: CollectiveBuffer | InPlace, recv: CollectiveBuffer, op: ReduceOp, blocking: boolean): Desc {
    const size = this.#h.size;
    const x = sides(call, this.#h, 'all', send, recv, 0);
    const d = described(call, 'reduceScatterBlock', x, true);
    setOp(d, call, op, blocking);
    const r = x.r as Resolved;
    d.count = x.inPlace ? Math.floor(elems(r, d.type) / size) : elems(r, d.type);
    if (x.s) atLeast(call, x.s, d.type, d.count * size, `${d.count} elements for each of ${size} ranks`);
    return d;
  }

  // ---- posting ----

  /** Starts a collective; the returned request completes when it is done on this rank. */
  start(d: Desc): Request {
    this.#h.enter(d.call);
    if (d.fn) throw new Error('internal: a JavaScript op cannot run non-blocking');
    try {
      return this.#post(d, false);
    } catch (e) {
      throw fromNative(e, 'recv');
    }
  }

  /**
   * The blocking form: polls first, guards only if still in flight, then waits. Done within
   * the poll (the common case for small collectives): the shared resolved promise. Every
   * error is a rejection.
   */
  run(d: Desc): Promise<void> {
    try {
      this.#h.enter(d.call);
      if (d.fn) return this.#fold(d);
      let r: Request;
      try {
        r = this.#post(d, true);
        this.#settle(r, (d.recv?.byteLength ?? 0) + (d.send?.byteLength ?? 0));
      } catch (e) {
        throw fromNative(e, 'recv');
      }
      if (!r.done) return settled(r);
      r.wait();
      return DONE;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #post(d: Desc, deferred: boolean, fold = false, send = d.send, recv = d.recv, count = d.count): Request {
    const h = this.#h;
    const e = h.engine;
    const stack = h.stack();
    const kind = KIND[d.name];
    const type = TYPES[d.type].code;
    const r = e.postWith(d.call as RequestCall, recv ?? send, (slot, id) => e.native.commCollective(
      slot, id, h.commId, kind, send, recv, type, d.op, d.root, count, d.inPlace && !fold, fold, deferred,
      d.sc, d.sd, d.rc, d.rd, stack));
    r._keep = send;
    return r;
  }

  #settle(r: Request, bytes: number): void {
    const e = this.#h.engine;
    if (e.check(r)) return;
    // The base spin plus the time the bytes take at 2 GB/s, at most 20 ms.
    const budget = Math.min(e.spinNs + bytes / 2, 20e6);
    if (e.native.commPoll(r._slot, budget)) e.check(r);
    else if (e.native.commCollGuard(r._slot) === 1) e.check(r);
    e.afterNative();
  }

  /**
   * A JavaScript op: every rank's input is allgathered natively (the signature check still
   * compares kind, root, type and count), then folded here in rank order, so the function
   * needs not be commutative.
   */
  async #fold(d: Desc): Promise<void> {
    const h = this.#h;
    const size = h.size, rank = h.rank;
    const es = TYPES[d.type].size;
    // The input: IN_PLACE takes it from recv.
    const n = d.name === 'reduceScatterBlock' ? d.count * size : d.count;  // input elements per rank
    const inputBytes = d.inPlace ? bytesOf(d.recv as BufferLike) : bytesOf(d.send as BufferLike);
    const input = new Uint8Array(n * es);
    input.set(inputBytes.subarray(0, n * es));
    const gathered = new Uint8Array(n * es * size);
    let r: Request;
    try {
      r = this.#post(d, true, true, input, gathered, n);
      this.#settle(r, gathered.byteLength);
    } catch (e) {
      throw fromNative(e, 'recv');
    }
    if (r.done) r.wait();
    else await r;
    const part = (i: number): NumericArray => typedView(gathered.subarray(i * n * es, (i + 1) * n * es), d.type);
    const fn = d.fn as (a: unknown, b: unknown) => unknown;
    const foldRanks = (upTo: number): NumericArray => {
      const acc = part(0);
      for (let i = 1; i < upTo; i++) {
        const x = part(i);
        for (let k = 0; k < acc.length; k++) (acc as unknown as unknown[])[k] = fn(acc[k], x[k]);
      }
      return acc;
    };
    let result: NumericArray | null = null;
    let offset = 0;
    let length = d.count;
    switch (d.name) {
      case 'reduce': if (rank === d.root) result = foldRanks(size); break;
      case 'allreduce': result = foldRanks(size); break;
      case 'scan': result = foldRanks(rank + 1); break;
      case 'exscan': if (rank > 0) result = foldRanks(rank); break;
      case 'reduceScatterBlock': result = foldRanks(size); length = d.count; offset = rank * d.count; break;
      case 'reduceScatter': {
        result = foldRanks(size);
        const c = d.rc as Float64Array;
        for (let i = 0; i < rank; i++) offset += c[i];
        length = c[rank];
        break;
      }
      default: break;
    }
    if (result && d.recv) {
      const src = new Uint8Array(result.buffer, result.byteOffset + offset * es, length * es);
      bytesOf(d.recv).set(src);
    }
  }
}
