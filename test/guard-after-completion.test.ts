// After completion a buffer is the program's again: every access (JS, native code on the
// JS thread, another native thread) is immediate, does not fault at all, and sees or
// keeps the right data, for sends and receives and every kind of memory.
import t from 'tap';
import { addon, memories, stats, delta, timed, released, DELAY_MS } from './support/guard.js';
import type { GuardStats } from './support/addon.js';

addon.guardInit('block');
const NONE = { waited: 0, lifted: 0, collateral: 0 };
const faults = (d: GuardStats) => ({ waited: d.faultsWaited, lifted: d.faultsLifted, collateral: d.faultsCollateral });

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
      // Immediate means no fault at all (a wall-clock bound would only measure the machine's
      // load): counted for the reads and for the writes of each kind on their own.
      const r0 = stats();
      const [wrong, ms] = timed(() => {
        let bad = 0;
        for (let i = 0; i < tg.n; i++) if (tg.view[i] !== expect(i)) bad++;
        return bad;
      });
      t.equal(wrong, 0, `${kind}: JS reads see ${dir === 'in' ? 'the received data' : 'the sent data'}`);
      t.same(faults(delta(r0)), NONE, `${kind}: JS reads immediate, not one fault (${ms.toFixed(1)} ms)`);
      const w0 = stats();
      const [, wms] = timed(() => { for (let i = 0; i < tg.n; i++) tg.view[i] = tg.filled(0x13); });
      t.same(faults(delta(w0)), NONE, `${kind}: JS writes immediate, not one fault (${wms.toFixed(1)} ms)`);
      t.equal(addon.nativeSum(tg.view), 0x13 * tg.bytes.length, `${kind}: native code on the JS thread reads the JS writes`);
      addon.nativeFill(tg.view, 0x14);
      t.equal(tg.view[0], tg.filled(0x14), `${kind}: native memset is visible to JS`);
      t.equal(addon.threadTouch(tg.view, true, 0x15), 0x15 * tg.bytes.length, `${kind}: another native thread writes and reads`);
      t.equal(tg.view[tg.n - 1], tg.filled(0x15), `${kind}: its writes are visible to JS`);
    }
    t.same(faults(delta(before)), NONE, 'no access after completion faulted');
  });
}
