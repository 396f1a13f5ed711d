// Two sends of the same bytes in flight at once (the osu_bw window pattern): the page
// stays read-only until the last one completes, whichever completes first; a write waits
// for the last release. Partially overlapping sends behave the same.
import t from 'tap';
import { addon, memories, stats, delta, timed, released, DELAY_MS, FAST_MS } from './support/guard.js';

addon.guardInit('block');

for (const order of ['first-posted completes first', 'second-posted completes first'] as const) {
  t.test(`two sends of the same bytes: protection held until the last release (${order})`, async t => {
    for (const m of memories()) {
      const tg = m.at(96, 2 * 4096);
      tg.bytes.fill(4);
      const a = addon.guardAcquire(tg.view, 'out');
      const mprotects = stats().mprotectCalls;
      const b = addon.guardAcquire(tg.view, 'out');
      t.equal(stats().mprotectCalls, mprotects, `${m.kind}: the second send finds the pages protected already (no mprotect)`);
      const [early, late] = order === 'first-posted completes first' ? [a, b] : [b, a];
      addon.guardRelease(early);
      t.ok(addon.guardIsActive(late) && !addon.guardIsActive(early), `${m.kind}: one send still in flight`);
      const before = stats();
      addon.guardReleaseAfter(late, DELAY_MS);
      const [, ms] = timed(() => { tg.bytes[10] = 9; });
      t.ok(ms >= DELAY_MS * 0.8, `${m.kind}: a write still waited for the remaining send (${ms.toFixed(0)} ms)`);
      t.notOk(addon.guardIsActive(late), `${m.kind}: and proceeded after it completed`);
      t.equal(tg.bytes[10], 9, `${m.kind}: the write landed`);
      t.equal(delta(before).faultsWaited, 1, `${m.kind}: one wait`);
    }
  });
}

t.test('partially overlapping sends: the shared bytes wait for both, the others for their own', async t => {
  for (const m of memories()) {
    const x = m.at(0, 3 * 4096);
    x.bytes.fill(0);
    const a = addon.guardAcquire(x.bytes.subarray(0, 2 * 4096), 'out');     // pages 0-1
    const b = addon.guardAcquire(x.bytes.subarray(4096, 3 * 4096), 'out');  // pages 1-2
    addon.guardRelease(a);
    // Page 0 belongs to nobody now, page 1 still to b.
    const before = stats();
    const [, ms0] = timed(() => { x.bytes[5] = 1; });
    t.ok(ms0 < FAST_MS && delta(before).faultsWaited === 0, `${m.kind}: bytes only a covered are free once a completed`);
    addon.guardReleaseAfter(b, DELAY_MS);
    const [, ms1] = timed(() => { x.bytes[4096 + 5] = 1; });
    t.ok(ms1 >= DELAY_MS * 0.8, `${m.kind}: shared bytes wait for b (${ms1.toFixed(0)} ms)`);
    t.ok(await released(b));
  }
});
