// Neighbours of an in-flight buffer that share its page are not in flight: the issue asks
// that any access to them proceed. System calls are accesses too: write(2) from a
// neighbour and read(2) into a neighbour should work while the guard is held.
//
// KNOWN BUG / LIMITATION (fails today): the kernel does not fault on protected pages, it
// returns EFAULT, and the engine has no way to let a syscall through (single-stepping
// works only for CPU instructions in user space). So a syscall on bytes that merely share
// a page with a guarded range fails with EFAULT. With plain memory this includes Node's
// own malloc'ed buffers (libuv reads and writes, stream chunks) that happen to share a page
// with a small or unaligned plain buffer in flight. Fixes: keep guarded plain ranges on
// pages of their own (copy small/unaligned plain buffers, guard only whole inner pages),
// or userfaultfd write-protection where the kernel allows.
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
  t.test(`syscalls on same-page neighbours of a ${dir === 'in' ? 'receive' : 'send'} buffer in flight succeed`, async t => {
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
      fs.closeSync(fd);
      t.equal(w, 'ok 100', `${m.kind}: write(2) from a neighbour`);
      t.equal(r, 'ok 100', `${m.kind}: read(2) into a neighbour`);
      t.ok(addon.guardIsActive(id), `${m.kind}: while the guard was held`);
      t.ok(await released(id));
    }
  });
}
