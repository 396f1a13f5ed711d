// System calls on bytes that merely share a page with an in-flight buffer. The kernel does
// not fault on a protected page, it returns EFAULT, and single-stepping only works for CPU
// instructions in user space, so this is a documented limitation (docs/design.md,
// "Fork, exit, threads"): the kernel can read a neighbour of a send buffer (read-only page)
// but cannot write it, and can neither read nor write a neighbour of a receive buffer. What
// must hold: the call fails cleanly with EFAULT, nothing is corrupted, the process goes on,
// and the same calls work once the guard is released. Registered memory (comm.alloc) gives
// each buffer pages of its own, so its neighbours are never affected.
import t from 'tap';
import fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addon, memories, released, SAFETY_MS } from './support/guard.js';

addon.guardInit('block');
const dir = mkdtempSync(join(tmpdir(), 'zc-guard-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'data');
fs.writeFileSync(file, Buffer.alloc(4096, 0x4e));

function attempt(fn: () => number): string {
  try { return `ok ${fn()}`; } catch (e) { return (e as NodeJS.ErrnoException).code ?? String(e); }
}

for (const dir of ['in', 'out'] as const) {
  t.test(`syscalls on same-page neighbours of a ${dir === 'in' ? 'receive' : 'send'} buffer in flight: EFAULT, no corruption, fine after release`, async t => {
    for (const m of memories().slice(0, 2)) {
      const page = m.at(0, 4096).bytes;
      page.fill(0x20);
      const guarded = page.subarray(1000, 1064);
      const neighbour = page.subarray(2000, 2100);
      const id = addon.guardAcquire(guarded, dir);
      if (dir === 'in') addon.deviceFillAndRelease(guarded, 0x41, id, SAFETY_MS);
      else addon.guardReleaseAfter(id, SAFETY_MS);
      const fd = fs.openSync(file, 'r+');
      const w = attempt(() => fs.writeSync(fd, neighbour, 0, 100, 0));
      const r = attempt(() => fs.readSync(fd, neighbour, 0, 100, 0));
      const held = addon.guardIsActive(id);
      fs.closeSync(fd);
      t.equal(w, dir === 'out' ? 'ok 100' : 'EFAULT', `${m.kind}: write(2) from a neighbour ${dir === 'out' ? 'works (the page is readable)' : 'fails with EFAULT'}`);
      t.equal(r, 'EFAULT', `${m.kind}: read(2) into a neighbour fails with EFAULT`);
      t.ok(held, `${m.kind}: while the guard was held`);
      t.ok(await released(id));
      t.ok(neighbour.every(b => b === 0x20), `${m.kind}: the neighbour is untouched`);
      t.ok(guarded.every(b => b === (dir === 'in' ? 0x41 : 0x20)), `${m.kind}: the guarded range holds what the device left`);
      const fd2 = fs.openSync(file, 'r+');
      t.equal(attempt(() => fs.readSync(fd2, neighbour, 0, 100, 0)), 'ok 100', `${m.kind}: after the release read(2) into it works`);
      fs.closeSync(fd2);
    }
  });
}
