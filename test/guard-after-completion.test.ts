// After completion a buffer is the program's again: every access (JS, native code on the
// JS thread, another native thread) is immediate, does not fault at all, and sees or
// keeps the right data, for sends and receives and every kind of memory.
import t from 'tap';
import { addon, memories, stats, delta, timed, released, DELAY_MS, FAST_MS } from './support/guard.js';

addon.guardInit('block');

for (const dir of ['out', 'in'] as const) {
  t.test(`after a ${dir === 'out' ? 'send' : 'receive'} completes, every access is immediate and correct`, async t => {
    const targets = memories().map(m => ({ kind: m.kind, tg: m.at(96, 3 * 4096) }));
    for (const { tg } of targets) for (let i = 0; i < tg.n; i++) tg.view[i] = tg.sample(i);
    const ids = targets.map(({ tg }) => addon.guardAcquire(tg.view, dir));
    targets.forEach(({ tg }, k) => {
      if (dir === 'in') addon.deviceFillAndRelease(tg.view, 0x29, ids[k], DELAY_MS / 3);
      else addon.guardReleaseAfter(ids[k], DELAY_MS / 3);
    });
    for (const id of ids) t.ok(await released(id), 'completed');
    const before = stats();
    for (const { kind, tg } of targets) {
      const expect = (i: number) => (dir === 'in' ? tg.filled(0x29) : tg.sample(i));
      const [wrong, ms] = timed(() => {
        let bad = 0;
        for (let i = 0; i < tg.n; i++) if (tg.view[i] !== expect(i)) bad++;
        return bad;
      });
      t.equal(wrong, 0, `${kind}: JS reads see ${dir === 'in' ? 'the received data' : 'the sent data'}`);
      t.ok(ms < FAST_MS, `${kind}: JS reads immediate (${ms.toFixed(1)} ms)`);
      const [, wms] = timed(() => { for (let i = 0; i < tg.n; i++) tg.view[i] = tg.filled(0x13); });
      t.ok(wms < FAST_MS, `${kind}: JS writes immediate (${wms.toFixed(1)} ms)`);
      t.equal(addon.nativeSum(tg.view), 0x13 * tg.bytes.length, `${kind}: native code on the JS thread reads the JS writes`);
      addon.nativeFill(tg.view, 0x14);
      t.equal(tg.view[0], tg.filled(0x14), `${kind}: native memset is visible to JS`);
      t.equal(addon.threadTouch(tg.view, true, 0x15), 0x15 * tg.bytes.length, `${kind}: another native thread writes and reads`);
      t.equal(tg.view[tg.n - 1], tg.filled(0x15), `${kind}: its writes are visible to JS`);
    }
    const d = delta(before);
    t.same({ waited: d.faultsWaited, lifted: d.faultsLifted, collateral: d.faultsCollateral },
      { waited: 0, lifted: 0, collateral: 0 }, 'no access after completion faulted');
  });
}
