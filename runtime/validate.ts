// Argument checks for the public API. Every failure is an ArgumentError whose message
// starts with the call and names the argument, e.g.
//   "zcmpi: isend: dest must be an integer rank in [0, 2) (got 5)".

import { ArgumentError } from './errors.js';
import type { BufferLike } from './native.js';

export const ANY_SOURCE = -1;
export const ANY_TAG = -1;
/** Largest user tag (tags are 31-bit non-negative integers, as MPI_TAG_UB is at least 32767). */
export const TAG_UB = 2 ** 31 - 1;

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (typeof v === 'function') return `function ${v.name || '(anonymous)'}`;
  if (Array.isArray(v)) return 'an Array';
  const name = (v as { constructor?: { name?: string } }).constructor?.name;
  return name ? `a ${name}` : 'an object';
}

export function fail(call: string, argument: string, must: string, value: unknown): never {
  throw new ArgumentError(argument, `zcmpi: ${call}: ${argument} ${must} (got ${show(value)})`);
}

export function checkBuffer(call: string, v: unknown, argument = 'buf'): BufferLike {
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v;
  if (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer) {
    fail(call, argument, 'must be a TypedArray, Buffer, DataView or ArrayBuffer; SharedArrayBuffer is not supported', v);
  }
  return fail(call, argument, 'must be a TypedArray, Buffer, DataView or ArrayBuffer', v);
}

export function checkRank(call: string, argument: string, v: unknown, size: number, allowAny: boolean): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < (allowAny ? ANY_SOURCE : 0) || v >= size) {
    const range = `an integer rank in [0, ${size})${allowAny ? ' or ANY_SOURCE' : ''}`;
    fail(call, argument, `must be ${range}`, v);
  }
  return v;
}

export function checkTag(call: string, v: unknown, allowAny: boolean): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    fail(call, 'tag', `must be an integer in [0, 2^31)${allowAny ? ' or ANY_TAG' : ''}`, v);
  }
  if (allowAny && v === ANY_TAG) return v;
  if (v < 0) fail(call, 'tag', `must not be negative${allowAny ? ' (except ANY_TAG)' : ''}`, v);
  if (v > TAG_UB) fail(call, 'tag', 'must be below 2^31', v);
  return v;
}
