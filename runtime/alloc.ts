// comm.alloc(Ctor, length): typed arrays over registered, page-aligned, double-mapped memory
// (native/memory). Transfers from and into these buffers are zero-copy: the transport goes
// through the block's device view while the guard protects the program's view.

import { fail } from './validate.js';
import type { NativeAddon } from './native.js';

export type AllocConstructor =
  | Int8ArrayConstructor | Uint8ArrayConstructor | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor | Uint16ArrayConstructor
  | Int32ArrayConstructor | Uint32ArrayConstructor
  | Float32ArrayConstructor | Float64ArrayConstructor
  | BigInt64ArrayConstructor | BigUint64ArrayConstructor
  | BufferConstructor | DataViewConstructor;

/** What alloc returns for each constructor. */
export type AllocResult<C extends AllocConstructor> =
  C extends BufferConstructor ? Buffer :
  C extends DataViewConstructor ? DataView :
  C extends new (buffer: ArrayBuffer, byteOffset: number, length: number) => infer T ? T : never;

const TYPED: ReadonlyArray<{ readonly BYTES_PER_ELEMENT: number }> = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
];

/** The largest block alloc will ask for (the address space, not the RAM, is the limit). */
const MAX_BYTES = 2 ** 47;

export function allocView<C extends AllocConstructor>(native: NativeAddon, Ctor: C, length: number): AllocResult<C> {
  const isBuffer = (Ctor as unknown) === Buffer;
  const isDataView = (Ctor as unknown) === DataView;
  const typed = TYPED.includes(Ctor as unknown as { readonly BYTES_PER_ELEMENT: number });
  if (!isBuffer && !isDataView && !typed) {
    fail('alloc', 'Ctor', 'must be a TypedArray constructor (e.g. Float64Array), Buffer or DataView', Ctor);
  }
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    fail('alloc', 'length', 'must be a non-negative integer', length);
  }
  const elem = typed ? (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
  const bytes = length * elem;
  if (bytes > MAX_BYTES) fail('alloc', 'length', `is too large (${bytes} bytes; at most 2^47)`, length);
  // A zero-length view still gets a (one-page) block, so every alloc result is registered.
  const ab = native.alloc(Math.max(bytes, 1));
  if (isBuffer) return Buffer.from(ab, 0, bytes) as AllocResult<C>;
  if (isDataView) return new DataView(ab, 0, bytes) as AllocResult<C>;
  const TypedCtor = Ctor as unknown as new (b: ArrayBuffer, o: number, l: number) => AllocResult<C>;
  return new TypedCtor(ab, 0, length);
}
