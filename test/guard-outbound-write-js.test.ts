// Outbound guard: a JavaScript write into a send buffer in flight waits until the device
// is done with it (the release), then lands; the rest of the buffer is untouched.
import t from 'tap';
import { addon, memories, stats, delta, timed, DELAY_MS, FAST_MS } from './support/guard.js';

addon.guardInit('block');

t.test('a write to a send buffer in flight waits for completion, then lands (arena and plain memory)', async t => {
  for (const m of memories()) {
    const tg = m.at(96, 2 * 4096);
    for (let i = 0; i < tg.n; i++) tg.view[i] = tg.sample(i);
    const w = tg.filled(0x42);
    const before = stats();
    const id = addon.guardAcquire(tg.view, 'out', { peer: 1, tag: 5 });
    addon.guardReleaseAfter(id, DELAY_MS);  // schedule the completion before the access
    const at = tg.n >> 1;
    const [, ms] = timed(() => { tg.view[at] = w; });
    t.ok(ms >= DELAY_MS * 0.8, `${m.kind}: the write waited ${ms.toFixed(0)} ms for the release (${DELAY_MS} ms)`);
    t.notOk(addon.guardIsActive(id), `${m.kind}: the write proceeded only after the release`);
    t.equal(tg.view[at], w, `${m.kind}: the written value landed`);
    let wrong = 0;
    for (let i = 0; i < tg.n; i++) if (i !== at && tg.view[i] !== tg.sample(i)) wrong++;
    t.equal(wrong, 0, `${m.kind}: no other element changed`);
    const d = delta(before);
    t.equal(d.faultsWaited, 1, `${m.kind}: exactly one access waited`);
    const [, ms2] = timed(() => { for (let i = 0; i < tg.n; i++) tg.view[i] = w; });
    t.ok(ms2 < FAST_MS, `${m.kind}: later writes are immediate (${ms2.toFixed(1)} ms)`);
    t.equal(delta(before).faultsWaited, 1, `${m.kind}: and do not fault`);
  }
});
