// A native thread that is not the JS thread (like a thread-pool worker or another addon's
// thread) follows the same rules: it faults and waits on its own stack; the JS thread only
// waits because it joins that thread.
import t from 'tap';
import { addon, memories, stats, delta, timed, released, DELAY_MS, SAFETY_MS, FAST_MS } from './support/guard.js';

addon.guardInit('block');

t.test('another thread reads a send buffer in flight at once', async t => {
  for (const m of memories()) {
    const tg = m.at(96, 4 * 4096);
    tg.bytes.fill(2);
    const before = stats();
    const id = addon.guardAcquire(tg.view, 'out');
    addon.guardReleaseAfter(id, SAFETY_MS);
    const [sum, ms] = timed(() => addon.threadTouch(tg.view, false));
    t.equal(sum, 2 * tg.bytes.length, `${m.kind}: the thread read every byte`);
    t.ok(ms < FAST_MS && addon.guardIsActive(id), `${m.kind}: without waiting (${ms.toFixed(1)} ms)`);
    t.equal(delta(before).faultsWaited, 0, `${m.kind}: no wait`);
    t.ok(await released(id));
  }
});

t.test('another thread writing a send buffer in flight waits, then its write lands', async t => {
  for (const m of memories()) {
    const tg = m.at(96, 4 * 4096);
    tg.bytes.fill(2);
    const before = stats();
    const id = addon.guardAcquire(tg.view, 'out');
    addon.guardReleaseAfter(id, DELAY_MS);
    const [sum, ms] = timed(() => addon.threadTouch(tg.view, true, 0x11));
    t.ok(ms >= DELAY_MS * 0.8, `${m.kind}: waited ${ms.toFixed(0)} ms`);
    t.equal(sum, 0x11 * tg.bytes.length, `${m.kind}: and wrote every byte`);
    t.ok(tg.bytes.every(b => b === 0x11), `${m.kind}: JS sees the thread's writes`);
    t.equal(delta(before).faultsWaited, 1, `${m.kind}: one wait (on the other thread)`);
  }
});

t.test('another thread reading a receive buffer in flight waits and sees the received data', async t => {
  for (const m of memories()) {
    const tg = m.at(96, 4 * 4096);
    const id = addon.guardAcquire(tg.view, 'in');
    addon.deviceFillAndRelease(tg.view, 0x33, id, DELAY_MS);
    const [sum, ms] = timed(() => addon.threadTouch(tg.view, false));
    t.ok(ms >= DELAY_MS * 0.8, `${m.kind}: waited ${ms.toFixed(0)} ms`);
    t.equal(sum, 0x33 * tg.bytes.length, `${m.kind}: read exactly the received bytes`);
  }
});

t.test('another thread writing a receive buffer in flight waits, then overwrites it', async t => {
  for (const m of memories()) {
    const tg = m.at(96, 4 * 4096);
    const id = addon.guardAcquire(tg.view, 'in');
    addon.deviceFillAndRelease(tg.view, 0x33, id, DELAY_MS);
    const [sum, ms] = timed(() => addon.threadTouch(tg.view, true, 0x12));
    t.ok(ms >= DELAY_MS * 0.8, `${m.kind}: waited ${ms.toFixed(0)} ms`);
    t.equal(sum, 0x12 * tg.bytes.length, `${m.kind}: its bytes replaced the received ones`);
    t.ok(tg.bytes.every(b => b === 0x12), `${m.kind}: JS agrees`);
  }
});
