// Native code running on the JS thread (an addon's memset / byte loop, as in Buffer
// methods) follows the same rules as JS: send buffers are readable at once, writes to
// them wait; receive buffers make every access wait and then show the received bytes.
import t from 'tap';
import { addon, memories, stats, delta, timed, released, DELAY_MS, SAFETY_MS, FAST_MS } from './support/guard.js';

addon.guardInit('block');

t.test('native read of a send buffer in flight: immediate', async t => {
  for (const m of memories()) {
    const tg = m.at(96, 4 * 4096);
    tg.bytes.fill(3);
    const before = stats();
    const id = addon.guardAcquire(tg.view, 'out');
    addon.guardReleaseAfter(id, SAFETY_MS);
    const [sum, ms] = timed(() => addon.nativeSum(tg.view));
    t.equal(sum, 3 * tg.bytes.length, `${m.kind}: nativeSum sees the bytes`);
    t.ok(ms < FAST_MS && addon.guardIsActive(id), `${m.kind}: without waiting (${ms.toFixed(1)} ms)`);
    t.equal(delta(before).faultsWaited, 0, `${m.kind}: nothing waited`);
    t.ok(await released(id));
  }
});

t.test('native write into a send buffer in flight: waits, then lands', async t => {
  for (const m of memories()) {
    const tg = m.at(96, 4 * 4096);
    tg.bytes.fill(3);
    const before = stats();
    const id = addon.guardAcquire(tg.view, 'out');
    addon.guardReleaseAfter(id, DELAY_MS);
    const [, ms] = timed(() => addon.nativeFill(tg.view, 0x44));
    t.ok(ms >= DELAY_MS * 0.8 && !addon.guardIsActive(id), `${m.kind}: nativeFill waited for the release (${ms.toFixed(0)} ms)`);
    t.ok(tg.bytes.every(b => b === 0x44), `${m.kind}: every byte written`);
    t.equal(delta(before).faultsWaited, 1, `${m.kind}: one wait`);
  }
});

t.test('native read of a receive buffer in flight: waits, sees the received data', async t => {
  for (const m of memories()) {
    const tg = m.at(96, 4 * 4096);
    tg.bytes.fill(3);
    const id = addon.guardAcquire(tg.view, 'in');
    addon.deviceFillAndRelease(tg.view, 0x21, id, DELAY_MS);
    const [sum, ms] = timed(() => addon.nativeSum(tg.view));
    t.ok(ms >= DELAY_MS * 0.8, `${m.kind}: nativeSum waited (${ms.toFixed(0)} ms)`);
    t.equal(sum, 0x21 * tg.bytes.length, `${m.kind}: and summed the received bytes only`);
  }
});

t.test('native write into a receive buffer in flight: waits, then lands over the received data', async t => {
  for (const m of memories()) {
    const tg = m.at(96, 4 * 4096);
    const id = addon.guardAcquire(tg.view, 'in');
    addon.deviceFillAndRelease(tg.view, 0x21, id, DELAY_MS);
    const [, ms] = timed(() => addon.nativeFill(tg.view, 0x66));
    t.ok(ms >= DELAY_MS * 0.8, `${m.kind}: nativeFill waited (${ms.toFixed(0)} ms)`);
    t.ok(tg.bytes.every(b => b === 0x66), `${m.kind}: the program's bytes win, none of the device's remain`);
  }
});
