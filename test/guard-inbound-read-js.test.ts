// Inbound guard (a receive in flight): a JavaScript read waits until the device has
// written the message and released the guard, then sees the device's bytes.
import t from 'tap';
import { addon, memories, stats, delta, timed, DELAY_MS } from './support/guard.js';

addon.guardInit('block');

t.test('a read of a receive buffer in flight waits and sees the received data (arena and plain memory)', async t => {
  for (const m of memories()) {
    const tg = m.at(96, 3 * 4096);
    for (let i = 0; i < tg.n; i++) tg.view[i] = tg.sample(i);
    const before = stats();
    const id = addon.guardAcquire(tg.view, 'in', { peer: 2, tag: 9 });
    addon.deviceFillAndRelease(tg.view, 0x37, id, DELAY_MS);
    const at = tg.n - 1;
    const [v, ms] = timed(() => tg.view[at]);
    t.ok(ms >= DELAY_MS * 0.8, `${m.kind}: the read waited ${ms.toFixed(0)} ms`);
    t.equal(v, tg.filled(0x37), `${m.kind}: the read saw the device's data, not the old contents`);
    t.notOk(addon.guardIsActive(id), `${m.kind}: the guard was released when the read proceeded`);
    let wrong = 0;
    for (let i = 0; i < tg.n; i++) if (tg.view[i] !== tg.filled(0x37)) wrong++;
    t.equal(wrong, 0, `${m.kind}: every element holds the received data`);
    t.equal(delta(before).faultsWaited, 1, `${m.kind}: one access waited, the rest were free`);
  }
});
