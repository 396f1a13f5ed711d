// System calls on an in-flight buffer. The kernel does not fault on a protected page the
// way the CPU does: copy_to_user/copy_from_user fail and the call returns EFAULT. So:
//   - write(2) from a send buffer in flight works (read-only pages are readable);
//   - read(2) into a receive buffer in flight fails with EFAULT, Node throws
//     "EFAULT: bad address in system call argument", the buffer is untouched (after the
//     transfer it holds exactly the received data) and the process carries on;
//   - write(2) from a receive buffer and read(2) into a send buffer fail the same way.
// This is the documented behaviour (docs/design.md), not a wait: userfaultfd is not used.
import t from 'tap';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addon, memories, released, DELAY_MS, SAFETY_MS } from './support/guard.js';

addon.guardInit('block');
const dir = mkdtempSync(join(tmpdir(), 'zc-guard-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'data');
fs.writeFileSync(file, Buffer.alloc(3 * 4096, 0x46));

function efault(t: any, fn: () => unknown, what: string) {
  let err: NodeJS.ErrnoException | undefined;
  try { fn(); } catch (e) { err = e as NodeJS.ErrnoException; }
  t.equal(err?.code, 'EFAULT', `${what}: throws EFAULT (${err?.message})`);
}

t.test('fs.readSync into a pending receive buffer: EFAULT, buffer untouched, process fine', async t => {
  for (const m of memories()) {
    const tg = m.at(96, 3 * 4096 - 96);
    tg.bytes.fill(1);
    const id = addon.guardAcquire(tg.view, 'in');
    addon.deviceFillAndRelease(tg.view, 0x52, id, SAFETY_MS);
    const fd = fs.openSync(file, 'r');
    efault(t, () => fs.readSync(fd, tg.bytes, 0, tg.bytes.length, 0), `${m.kind}: readSync`);
    fs.closeSync(fd);
    t.ok(addon.guardIsActive(id), `${m.kind}: the receive is still in flight, nothing waited`);
    t.ok(await released(id));
    t.ok(tg.bytes.every(b => b === 0x52), `${m.kind}: the buffer holds the received data, no file bytes`);
  }
});

t.test('async fs.read (thread pool) into a pending receive buffer: EFAULT in the callback', async t => {
  for (const m of memories()) {
    const tg = m.at(96, 4096);
    const id = addon.guardAcquire(tg.view, 'in');
    addon.deviceFillAndRelease(tg.view, 0x52, id, SAFETY_MS);
    const fd = fs.openSync(file, 'r');
    const err = await promisify(fs.read)(fd, tg.bytes, 0, tg.bytes.length, 0).then(() => undefined, e => e as NodeJS.ErrnoException);
    fs.closeSync(fd);
    t.equal(err?.code, 'EFAULT', `${m.kind}: fs.read rejects with EFAULT`);
    t.ok(await released(id));
    t.ok(tg.bytes.every(b => b === 0x52), `${m.kind}: the buffer holds the received data`);
  }
});

t.test('fs.writeSync from a pending send buffer works (read-only is readable)', async t => {
  for (const m of memories()) {
    const tg = m.at(96, 2 * 4096);
    for (let i = 0; i < tg.bytes.length; i++) tg.bytes[i] = (i * 13) & 255;
    const id = addon.guardAcquire(tg.view, 'out');
    addon.guardReleaseAfter(id, SAFETY_MS);
    const out = join(dir, 'sent');
    const fd = fs.openSync(out, 'w');
    t.equal(fs.writeSync(fd, tg.bytes), tg.bytes.length, `${m.kind}: every byte written`);
    fs.closeSync(fd);
    t.ok(addon.guardIsActive(id), `${m.kind}: while the send was in flight`);
    t.ok(fs.readFileSync(out).equals(Buffer.from(tg.bytes)), `${m.kind}: the file holds the buffer`);
    t.ok(await released(id));
  }
});

t.test('fs.writeSync from a pending receive buffer and fs.readSync into a pending send buffer: EFAULT', async t => {
  for (const m of memories()) {
    const rx = m.at(96, 4096);
    const tx = m.at(3 * 4096 + 96, 4096);
    tx.bytes.fill(0x33);
    const rid = addon.guardAcquire(rx.view, 'in');
    const tid = addon.guardAcquire(tx.view, 'out');
    addon.deviceFillAndRelease(rx.view, 0x52, rid, DELAY_MS);
    addon.guardReleaseAfter(tid, DELAY_MS);
    const wfd = fs.openSync(join(dir, 'x'), 'w');
    efault(t, () => fs.writeSync(wfd, rx.bytes), `${m.kind}: writeSync from a receive buffer`);
    fs.closeSync(wfd);
    const rfd = fs.openSync(file, 'r');
    efault(t, () => fs.readSync(rfd, tx.bytes, 0, tx.bytes.length, 0), `${m.kind}: readSync into a send buffer`);
    fs.closeSync(rfd);
    t.ok(await released(rid) && await released(tid));
    t.ok(tx.bytes.every(b => b === 0x33), `${m.kind}: the send buffer was not modified`);
    t.ok(rx.bytes.every(b => b === 0x52), `${m.kind}: the receive buffer holds the received data`);
  }
});
