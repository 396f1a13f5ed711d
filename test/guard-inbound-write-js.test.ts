// Inbound guard: a JavaScript write into a receive buffer in flight waits for the device;
// the program's value then lands on top of the received data (program order is kept).
import t from 'tap';
import { addon, memories, stats, delta, timed, DELAY_MS } from './support/guard.js';

addon.guardInit('block');

t.test('a write to a receive buffer in flight waits, then overwrites the received data', async t => {
  for (const m of memories()) {
    const tg = m.at(96, 2 * 4096);
    const w = tg.filled(0x51);
    const before = stats();
    const id = addon.guardAcquire(tg.view, 'in', { peer: 2, tag: 9 });
    addon.deviceFillAndRelease(tg.view, 0x37, id, DELAY_MS);
    const [, ms] = timed(() => { tg.view[3] = w; });
    t.ok(ms >= DELAY_MS * 0.8, `${m.kind}: the write waited ${ms.toFixed(0)} ms`);
    t.notOk(addon.guardIsActive(id), `${m.kind}: it proceeded after the release`);
    t.equal(tg.view[3], w, `${m.kind}: the program's write is not lost under the device's`);
    let wrong = 0;
    for (let i = 0; i < tg.n; i++) if (i !== 3 && tg.view[i] !== tg.filled(0x37)) wrong++;
    t.equal(wrong, 0, `${m.kind}: the other elements hold the received data`);
    t.equal(delta(before).faultsWaited, 1, `${m.kind}: one access waited`);
  }
});
