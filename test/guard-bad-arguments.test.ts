// The guard bindings reject bad input with errors naming the argument; an empty view is
// not an error but needs no guard (-1).
import t from 'tap';
import { addon } from './support/guard.js';

type Any = (...a: unknown[]) => unknown;
const acquire = addon.guardAcquire as unknown as Any;

t.test('guardInit rejects an unknown mode', async t => {
  t.throws(() => (addon.guardInit as unknown as Any)('fast'), /guard mode must be 'block', 'strict' or 'off' \(got 'fast'\)/);
  t.throws(() => (addon.guardInit as unknown as Any)(1), /guard mode must be/);
  addon.guardInit('block');
});

t.test('guardAcquire rejects non-buffers, bad directions and detached buffers', async t => {
  for (const v of [null, undefined, 'abc', 42, [1, 2, 3], {}]) {
    t.throws(() => acquire(v, 'in'), /view must be a TypedArray, Buffer, DataView or ArrayBuffer/, `view ${JSON.stringify(v) ?? 'undefined'}`);
  }
  const u = new Uint8Array(64);
  for (const d of ['inbound', '', undefined, 1]) t.throws(() => acquire(u, d), /direction must be 'in' or 'out'/, `direction ${String(d)}`);
  const ab = new ArrayBuffer(4096);
  structuredClone(ab, { transfer: [ab] });
  t.throws(() => acquire(ab, 'in'), /view is a detached ArrayBuffer/, 'detached ArrayBuffer');
  t.throws(() => acquire(new Uint8Array(ab), 'in'), /detached/, 'view of a detached ArrayBuffer');
});

t.test('guardAcquire accepts every buffer-like view; an empty one needs no guard', async t => {
  const ab = new ArrayBuffer(1 << 16);
  for (const v of [new DataView(ab, 8192, 100), new Float32Array(ab, 16384, 10), ab.slice(0, 0), new Uint8Array(0)]) {
    const id = addon.guardAcquire(v, 'out');
    if ((v as ArrayBufferView).byteLength === 0 || (v as ArrayBuffer).byteLength === 0) t.equal(id, -1, 'empty: -1');
    else { t.ok(id >= 0, `${v.constructor.name}: guarded`); addon.guardRelease(id); }
  }
});

t.test('id arguments must be numbers', async t => {
  t.throws(() => (addon.guardRelease as unknown as Any)('3'), /id must be a number/);
  t.throws(() => (addon.guardIsActive as unknown as Any)(undefined), /id must be a number/);
  t.throws(() => (addon.guardReleaseAfter as unknown as Any)(1, 'soon'), /ms must be a number/);
  t.throws(() => (addon.guardSetLongWaitMs as unknown as Any)(null), /ms must be a number/);
});
