// Reduction operators and element types of the collectives, and how a buffer argument
// becomes (bytes, element type). Codes mirror native/protocol/reduce_ops.h.

import type { BufferLike } from './native.js';
import { fail } from './validate.js';

/** The built-in reduction operators, computed natively (vectorised). */
export type ReduceOpName = 'sum' | 'prod' | 'min' | 'max' | 'band' | 'bor' | 'bxor' | 'land' | 'lor' | 'lxor';

/**
 * A JavaScript reduction: combines two elements, `a` from the lower-ranked side, `b` from
 * the higher (it need not be commutative). Blocking collectives only.
 */
export type ReduceFunction = ((a: number, b: number) => number) | ((a: bigint, b: bigint) => bigint);

export type ReduceOp = ReduceOpName | ReduceFunction;

/** Element types, as typed arrays name them. */
export type ElementType =
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64' | 'bigint64' | 'biguint64';

/** A buffer with an explicit element type (for DataViews, ArrayBuffers and Buffers). */
export interface TypedBuffer {
  readonly buffer: BufferLike;
  readonly type: ElementType;
}

/** Anything a collective accepts as a buffer. */
export type CollectiveBuffer = BufferLike | TypedBuffer;

/** Pass as the send buffer where MPI allows MPI_IN_PLACE: the data is taken from recv. */
export const IN_PLACE: unique symbol = Symbol('zcmpi.IN_PLACE');
export type InPlace = typeof IN_PLACE;

export const OP_CODES: Readonly<Record<ReduceOpName, number>> = {
  sum: 0, prod: 1, min: 2, max: 3, band: 4, bor: 5, bxor: 6, land: 7, lor: 8, lxor: 9,
};
export const OP_NONE = 254;
export const OP_JS = 255;

interface TypeInfo { code: number; size: number; float: boolean; bigint: boolean; Ctor: TypedArrayCtor }
type TypedArrayCtor = new (buffer: ArrayBuffer, byteOffset?: number, length?: number) => NumericArray;
/** A typed array of any element type. */
export type NumericArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

export const TYPES: Readonly<Record<ElementType, TypeInfo>> = {
  int8: { code: 0, size: 1, float: false, bigint: false, Ctor: Int8Array },
  uint8: { code: 1, size: 1, float: false, bigint: false, Ctor: Uint8Array },
  int16: { code: 2, size: 2, float: false, bigint: false, Ctor: Int16Array },
  uint16: { code: 3, size: 2, float: false, bigint: false, Ctor: Uint16Array },
  int32: { code: 4, size: 4, float: false, bigint: false, Ctor: Int32Array },
  uint32: { code: 5, size: 4, float: false, bigint: false, Ctor: Uint32Array },
  float32: { code: 6, size: 4, float: true, bigint: false, Ctor: Float32Array },
  float64: { code: 7, size: 8, float: true, bigint: false, Ctor: Float64Array },
  bigint64: { code: 8, size: 8, float: false, bigint: true, Ctor: BigInt64Array },
  biguint64: { code: 9, size: 8, float: false, bigint: true, Ctor: BigUint64Array },
};

/** Uint8ClampedArray reduces as uint8 (wrapping, like MPI's unsigned char), not clamped. */
function typeOfView(v: ArrayBufferView): ElementType | null {
  if (v instanceof Float64Array) return 'float64';
  if (v instanceof Float32Array) return 'float32';
  if (v instanceof Int32Array) return 'int32';
  if (v instanceof Uint32Array) return 'uint32';
  if (v instanceof Int16Array) return 'int16';
  if (v instanceof Uint16Array) return 'uint16';
  if (v instanceof Int8Array) return 'int8';
  if (v instanceof BigInt64Array) return 'bigint64';
  if (v instanceof BigUint64Array) return 'biguint64';
  if (v instanceof Uint8Array || v instanceof Uint8ClampedArray) return 'uint8';  // Buffer too
  return null;  // DataView
}

/** A buffer argument resolved: its bytes and, when it says, its element type. */
export interface Resolved {
  readonly bytes: BufferLike;
  readonly byteLength: number;
  /** null: untyped bytes (DataView, ArrayBuffer) that take the other buffer's type. */
  readonly type: ElementType | null;
  readonly argument: string;
}

function isTypedBuffer(v: unknown): v is TypedBuffer {
  return typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer) && 'buffer' in v && 'type' in v;
}

export function resolveBuffer(call: string, argument: string, v: unknown): Resolved {
  if (isTypedBuffer(v)) {
    const t = v.type;
    if (typeof t !== 'string' || !(t in TYPES)) {
      fail(call, `${argument}.type`, `must be one of ${Object.keys(TYPES).join(', ')}`, t);
    }
    const b = v.buffer;
    if (!ArrayBuffer.isView(b) && !(b instanceof ArrayBuffer)) {
      fail(call, `${argument}.buffer`, 'must be a TypedArray, Buffer, DataView or ArrayBuffer', b);
    }
    if (b.byteLength % TYPES[t].size !== 0) {
      fail(call, argument, `must be a whole number of ${t} elements (${TYPES[t].size} bytes each; it has ${b.byteLength} bytes)`, b);
    }
    return { bytes: b, byteLength: b.byteLength, type: t, argument };
  }
  if (ArrayBuffer.isView(v)) return { bytes: v, byteLength: v.byteLength, type: typeOfView(v), argument };
  if (v instanceof ArrayBuffer) return { bytes: v, byteLength: v.byteLength, type: null, argument };
  if (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer) {
    fail(call, argument, 'must be a TypedArray, Buffer, DataView, ArrayBuffer or { buffer, type }; SharedArrayBuffer is not supported', v);
  }
  return fail(call, argument, 'must be a TypedArray, Buffer, DataView, ArrayBuffer or { buffer, type }', v);
}

/**
 * The element type of a collective over these buffers: typed ones must agree; untyped bytes
 * take it (and must hold whole elements). needType: a reduction, where bytes are not enough.
 */
export function elementType(call: string, bufs: ReadonlyArray<Resolved | null>, needType: boolean): ElementType {
  let type: ElementType | null = null;
  let from: Resolved | null = null;
  for (const b of bufs) {
    if (!b || b.type === null) continue;
    if (type === null) {
      type = b.type;
      from = b;
    } else if (b.type !== type) {
      fail(call, b.argument, `must have the same element type as ${from!.argument} (${type})`, b.bytes);
    }
  }
  if (type === null) {
    if (needType) {
      const b = bufs.find(x => x) ?? null;
      fail(call, b ? b.argument : 'recv', "has no element type: a reduction needs one; pass a typed array or { buffer, type: 'float64' }", b?.bytes);
    }
    type = 'uint8';
  }
  const size = TYPES[type].size;
  for (const b of bufs) {
    if (b && b.type === null && b.byteLength % size !== 0) {
      fail(call, b.argument, `must be a whole number of ${type} elements (${size} bytes each; it has ${b.byteLength} bytes)`, b.bytes);
    }
  }
  return type;
}

/** Checks op against the element type; returns its native code (OP_JS for functions). */
export function opCode(call: string, op: unknown, type: ElementType, blocking: boolean): number {
  if (typeof op === 'function') {
    if (!blocking) {
      fail(call, 'op', `must be a built-in op name (${Object.keys(OP_CODES).join(', ')}): JavaScript function ops work only with blocking collectives, whose schedules can call back into JavaScript; use the blocking form`, op);
    }
    return OP_JS;
  }
  if (typeof op !== 'string' || !(op in OP_CODES)) {
    fail(call, 'op', `must be one of ${Object.keys(OP_CODES).join(', ')} or a function`, op);
  }
  const info = TYPES[type];
  if (info.float && (op === 'band' || op === 'bor' || op === 'bxor')) {
    fail(call, 'op', `is a bitwise op and is not defined on floating-point elements (${type}); use an integer type`, op);
  }
  return OP_CODES[op as ReduceOpName];
}

/** A typed array of `type` over the bytes of b (copied when b is not aligned for it). */
export function typedView(b: BufferLike, type: ElementType): NumericArray {
  const info = TYPES[type];
  const ab = b instanceof ArrayBuffer ? b : b.buffer as ArrayBuffer;
  const off = b instanceof ArrayBuffer ? 0 : b.byteOffset;
  const len = b.byteLength / info.size;
  if (off % info.size === 0) return new info.Ctor(ab, off, len);
  const copy = new Uint8Array(b.byteLength);
  copy.set(new Uint8Array(ab, off, b.byteLength));
  return new info.Ctor(copy.buffer, 0, len);
}

export function bytesOf(b: BufferLike): Uint8Array {
  return b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
