// Release restores exactly the protection pages had: afterwards the whole region is
// accessible to JS, to native code, to another thread and to the kernel (write(2) from it
// and read(2) into it, which fail with EFAULT on any page still protected), and no access
// faults at all. For arena memory /proc/self/maps shows the block read-write again.
import t from 'tap';
import fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addon, memories, stats, delta, allReleased, arenaMappings, DELAY_MS } from './support/guard.js';

addon.guardInit('block');
const dir = mkdtempSync(join(tmpdir(), 'zc-guard-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('after release every page is fully accessible to JS, native code, threads and syscalls', async t => {
  const mems = memories();
  const len = 64 * 4096;
  for (const m of mems) {
    const whole = m.at(0, len).bytes;
    whole.fill(0);
    // A mix: unaligned, page-sized, multi-page, overlapping, both directions.
    const specs: [number, number, 'in' | 'out'][] = [
      [100, 16, 'in'], [200, 16, 'out'], [4096, 4096, 'out'], [4096, 8192, 'out'],
      [5 * 4096 + 7, 3 * 4096, 'in'], [20 * 4096, 40 * 4096, 'out'], [30 * 4096 + 1, 100, 'out'],
    ];
    for (const [off, n, dir] of specs) {
      const v = whole.subarray(off, off + n);
      const id = addon.guardAcquire(v, dir);
      if (dir === 'in') addon.deviceFillAndRelease(v, 0x61, id, DELAY_MS / 3);
      else addon.guardReleaseAfter(id, DELAY_MS / 3);
    }
  }
  t.ok(await allReleased(), 'every guard released');
  const before = stats();
  for (const m of mems) {
    const whole = m.at(0, len).bytes;
    let sum = 0;
    for (let i = 0; i < whole.length; i += 97) sum += whole[i];
    for (let i = 0; i < whole.length; i += 89) whole[i] = 1;
    t.ok(sum >= 0, `${m.kind}: JS read and wrote every page`);
    addon.nativeFill(whole, 2);
    t.equal(addon.nativeSum(whole), 2 * len, `${m.kind}: native code on the JS thread`);
    t.equal(addon.threadTouch(whole, true, 3), 3 * len, `${m.kind}: another native thread`);
    const f = join(dir, 'probe');
    const fd = fs.openSync(f, 'w+');
    t.equal(fs.writeSync(fd, whole, 0, len, 0), len, `${m.kind}: write(2) from every page`);
    whole.fill(0);
    t.equal(fs.readSync(fd, whole, 0, len, 0), len, `${m.kind}: read(2) into every page`);
    fs.closeSync(fd);
    t.ok(whole.every(b => b === 3), `${m.kind}: the round trip kept every byte`);
  }
  const d = delta(before);
  t.same([d.faultsWaited, d.faultsLifted, d.faultsCollateral], [0, 0, 0], 'nothing faulted after the releases');
  const bad = arenaMappings().filter(mp => mp.perms !== 'rw-s');
  t.same(bad, [], 'every arena mapping is read-write again in /proc/self/maps');
});
