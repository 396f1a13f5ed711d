// Collateral: a guard protects whole pages, so bytes outside a small or unaligned guarded
// range that share its page fault too. Those accesses must proceed at once (single-stepped
// through the briefly opened page), never wait, and never disturb the guarded bytes.
import t from 'tap';
import { addon, memories, stats, delta, timed, released, SAFETY_MS, FAST_MS } from './support/guard.js';

addon.guardInit('block');

for (const dir of ['in', 'out'] as const) {
  t.test(`neighbours of a small unaligned ${dir === 'in' ? 'receive' : 'send'} buffer on the same page: immediate reads and writes`, async t => {
    for (const m of memories()) {
      // 16 guarded bytes at page offset 104; the rest of the page is neighbours.
      const page = m.at(0, 4096).bytes;
      for (let i = 0; i < page.length; i++) page[i] = i & 0x7f;
      const tg = m.at(104, 16);
      const before = stats();
      const id = addon.guardAcquire(tg.view, dir);
      if (dir === 'in') addon.deviceFillAndRelease(tg.view, 0xee, id, SAFETY_MS);
      else addon.guardReleaseAfter(id, SAFETY_MS);
      // Bytes right before the range are covered by guard-collateral-adjacent.test.ts.
      const outside = [0, 20, 39, 120, 121, 2048, 4095];
      const [readsOk, rms] = timed(() => outside.every(i => page[i] === (i & 0x7f)));
      t.ok(readsOk, `${m.kind}: neighbours read their own values`);
      const [, wms] = timed(() => { for (const i of outside) page[i] = 0x80 | (i & 0x7f); });
      t.ok(rms + wms < FAST_MS, `${m.kind}: ${outside.length} reads and writes took ${(rms + wms).toFixed(1)} ms`);
      t.ok(addon.guardIsActive(id), `${m.kind}: all while the guard was held`);
      const d = delta(before);
      t.equal(d.faultsWaited, 0, `${m.kind}: no neighbour access waited`);
      t.ok(d.faultsCollateral >= (dir === 'in' ? 2 * outside.length : outside.length),
        `${m.kind}: they were single-stepped as collateral (${d.faultsCollateral})`);
      t.equal(d.strictReports, 0, `${m.kind}: nothing reported`);
      t.ok(await released(id));
      t.ok(outside.every(i => page[i] === (0x80 | (i & 0x7f))), `${m.kind}: neighbour writes kept`);
      const want = dir === 'in' ? 0xee : -1;
      for (let i = 104; i < 120; i++) {
        if (page[i] !== (dir === 'in' ? want : i & 0x7f)) { t.fail(`${m.kind}: guarded byte ${i} is ${page[i]}`); break; }
      }
      t.ok(page.every((b, i) => (i >= 104 && i < 120) || outside.includes(i) ? true : b === (i & 0x7f)),
        `${m.kind}: the rest of the page is untouched`);
    }
  });
}

t.test('neighbours on both pages of a range that straddles a page boundary', async t => {
  for (const m of memories()) {
    const two = m.at(0, 8192).bytes;
    two.fill(9);
    const tg = m.at(4000, 200);  // 96 bytes on page 0, 104 on page 1
    const before = stats();
    const id = addon.guardAcquire(tg.view, 'in');
    addon.deviceFillAndRelease(tg.view, 0x44, id, SAFETY_MS);
    const [, ms] = timed(() => {
      two[3900] = 1; two[4200] = 2; two[0] = 3; two[8191] = 4;
      return two[3930] + two[4201];
    });
    t.ok(ms < FAST_MS && addon.guardIsActive(id), `${m.kind}: neighbours on both pages are free (${ms.toFixed(1)} ms)`);
    t.equal(delta(before).faultsWaited, 0, `${m.kind}: nothing waited`);
    t.ok(await released(id));
    t.same([two[3900], two[4200], two[0], two[8191]], [1, 2, 3, 4], `${m.kind}: neighbour writes kept`);
    t.ok(two.subarray(4000, 4200).every(b => b === 0x44), `${m.kind}: the range holds the received data`);
  }
});
