// Every kind of view the runtime accepts gets the same guarantees: a DataView, a subarray
// of a subarray, Int32Array, BigInt64Array and Float32Array over arena and plain memory.
// A receive's guard on one view makes accesses through any other view of the same bytes
// wait too (protection is on the memory, not on the JS object).
import t from 'tap';
import { addon, memories, timed, f64Filled, DELAY_MS } from './support/guard.js';

addon.guardInit('block');

t.test('receives into DataView, nested subarrays and other element types; accessed through other views', async t => {
  for (const m of memories().slice(0, 2)) {
    const bytes = m.at(0, 3 * 4096).bytes;
    const ab = bytes.buffer, base = bytes.byteOffset;
    const views: [string, ArrayBufferView, (v: any) => unknown, unknown][] = [
      ['DataView', new DataView(ab, base + 64, 4096), v => v.getFloat64(8, true), f64Filled(0x3c)],
      ['subarray of subarray', bytes.subarray(4000).subarray(100, 300), v => v[199], 0x3c],
      ['Int32Array', new Int32Array(ab, base + 8192, 256), v => v[255], 0x3c3c3c3c],
      ['BigInt64Array', new BigInt64Array(ab, base + 8192 + 2048, 64), v => v[3], 0x3c3c3c3c3c3c3c3cn],
      ['Float32Array', new Float32Array(ab, base + 12000 - (12000 % 4), 8), v => v[0], new Float32Array(new Uint8Array(4).fill(0x3c).buffer)[0]],
    ];
    for (const [name, view, read, want] of views) {
      const id = addon.guardAcquire(view, 'in');
      addon.deviceFillAndRelease(view, 0x3c, id, DELAY_MS);
      // Read through a different view of the same memory first: it waits as well.
      const alias = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      const [a, ms] = timed(() => alias[alias.length - 1]);
      t.ok(ms >= DELAY_MS * 0.8 && a === 0x3c, `${m.kind}: ${name}: an alias view waited (${ms.toFixed(0)} ms) and saw the data`);
      t.equal(read(view), want, `${m.kind}: ${name}: the view reads the received value`);
    }
  }
});
