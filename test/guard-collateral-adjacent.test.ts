// The bytes immediately before a guarded range (the end of the previous small array, the
// previous element) are neighbours like any other: byte-wide accesses to them, which
// touch no in-flight byte, proceed without waiting and without a report.
//
// This pins down the trade-off of fixing straddling accesses (guard-straddling-access)
// conservatively: an engine that makes every access starting within N bytes before a
// guard wait (N = the widest access, 64 bytes) fails here; one that decodes the access
// width passes both. FAILS since f406785, which does the former (native/guard/
// fault_handler.cpp, kMaxAccessBytes window in on_segv).
import t from 'tap';
import { addon, memories, stats, delta, timed, released, SAFETY_MS, FAST_MS } from './support/guard.js';

addon.guardInit('block');

for (const dir of ['in', 'out'] as const) {
  t.test(`byte accesses right before a ${dir === 'in' ? 'receive' : 'send'} range proceed without waiting`, async t => {
    for (const m of memories().slice(0, 2)) {
      const page = m.at(0, 4096).bytes;
      page.fill(6);
      const id = addon.guardAcquire(page.subarray(1000, 1016), dir);
      if (dir === 'in') addon.deviceFillAndRelease(page.subarray(1000, 1016), 0x55, id, SAFETY_MS);
      else addon.guardReleaseAfter(id, SAFETY_MS);
      const before = stats();
      const [sum, ms] = timed(() => {
        let s = 0;
        for (const i of [999, 998, 992, 984, 970, 950]) { page[i] = 7; s += page[i]; }
        return s;
      });
      t.equal(sum, 42, `${m.kind}: the neighbours read back their writes`);
      t.ok(ms < FAST_MS && addon.guardIsActive(id), `${m.kind}: while the guard was held (${ms.toFixed(1)} ms)`);
      t.equal(delta(before).faultsWaited, 0, `${m.kind}: none of them waited`);
      t.ok(await released(id));
      t.ok(page.subarray(1000, 1016).every(b => b === (dir === 'in' ? 0x55 : 6)), `${m.kind}: the range itself is intact`);
    }
  });
}
