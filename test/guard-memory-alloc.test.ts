// alloc(bytes): registered memory with a device view, page-aligned (2 MiB-aligned and
// counted as huge-aligned from 2 MiB up), zero-filled, and the ArrayBuffer has exactly the
// requested length.
import t from 'tap';
import { addon, arenaMappings } from './support/guard.js';

t.test('alloc returns zero-filled, page-aligned memory with a device view', async t => {
  const sizes = [1, 100, 4096, 4097, 65536, (2 << 20) - 1, 2 << 20, (5 << 20) + 3];
  const kept: ArrayBuffer[] = [];
  for (const size of sizes) {
    const before = addon.memoryStats();
    const maps0 = new Set(arenaMappings().map(mp => mp.lo));
    const ab = addon.alloc(size);
    kept.push(ab);
    t.equal(ab.byteLength, size, `${size}: the ArrayBuffer has the requested length`);
    const u = new Uint8Array(ab);
    t.ok(u.every(b => b === 0), `${size}: zero-filled`);
    t.ok(addon.hasDeviceView(u), `${size}: has a device view`);
    t.ok(addon.hasDeviceView(u.subarray(size - 1)), `${size}: up to its last byte`);
    const after = addon.memoryStats();
    t.equal(after.blocks, before.blocks + 1, `${size}: one more block`);
    const huge = size >= 2 << 20;
    const align = huge ? 2 << 20 : 4096;
    const mapped = Math.ceil(size / align) * align;
    t.equal(after.bytesMapped - before.bytesMapped, mapped, `${size}: ${mapped} bytes mapped (rounded to ${align})`);
    t.equal(after.hugeAlignedBlocks - before.hugeAlignedBlocks, huge ? 1 : 0, `${size}: ${huge ? '' : 'not '}huge-aligned`);
    const maps = arenaMappings().filter(mp => !maps0.has(mp.lo));
    t.equal(maps.length, 2, `${size}: mapped twice (program view + device view) in /proc/self/maps`);
    for (const mp of maps) {
      t.equal(mp.lo % BigInt(align), 0n, `${size}: view at 0x${mp.lo.toString(16)} is ${align}-aligned`);
      t.equal(mp.hi - mp.lo, BigInt(mapped), `${size}: view spans ${mapped} bytes`);
      t.equal(mp.perms, 'rw-s', `${size}: view is a read-write shared mapping`);
    }
    u[size - 1] = 0xaa;
    t.equal(u[size - 1], 0xaa, `${size}: writable to the last byte`);
  }
  t.notOk(addon.hasDeviceView(new Uint8Array(4096)), 'plain memory has no device view');
  t.notOk(addon.hasDeviceView(Buffer.alloc(1 << 20)), 'nor has a Buffer');
  t.equal(kept.length, sizes.length);
});
