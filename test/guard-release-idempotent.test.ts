// Releasing is idempotent and safe on ids that were never guards; guardReleaseAll lifts
// every protection at once (finalize), so no later access waits.
import t from 'tap';
import { addon, memories, stats, timed, FAST_MS } from './support/guard.js';

addon.guardInit('block');

t.test('releasing twice, releasing -1 and out-of-range ids are no-ops', async t => {
  const v = memories()[1].at(0, 4096).bytes;
  const id = addon.guardAcquire(v, 'in');
  addon.guardRelease(id);
  const n = stats().activeGuards;
  addon.guardRelease(id);
  addon.guardRelease(-1);
  addon.guardRelease(1 << 30);
  t.equal(stats().activeGuards, n, 'counts unchanged');
  t.notOk(addon.guardIsActive(id) || addon.guardIsActive(-1) || addon.guardIsActive(1 << 30), 'nothing active');
  const [, ms] = timed(() => { v[0] = 1; return v[1]; });
  t.ok(ms < FAST_MS, 'the page is free');
});

t.test('guardReleaseAll lifts every guard and protection', async t => {
  const mems = memories();
  const views = mems.flatMap(m => [m.at(0, 104).bytes, m.at(4096 + 8, 3 * 4096).bytes]);
  const ids = views.flatMap(v => [addon.guardAcquire(v, 'in'), addon.guardAcquire(v, 'out')]);
  t.equal(stats().activeGuards, ids.length, `${ids.length} guards held`);
  addon.guardReleaseAll();
  t.equal(stats().activeGuards, 0, 'none left');
  t.ok(ids.every(id => !addon.guardIsActive(id)), 'each reports inactive');
  const before = stats();
  const [, ms] = timed(() => { for (const v of views) { v[0] = 1; v[v.length - 1] = v[1]; } });
  t.ok(ms < FAST_MS, 'every byte accessible at once');
  t.equal(stats().faultsWaited + stats().faultsCollateral + stats().faultsLifted,
    before.faultsWaited + before.faultsCollateral + before.faultsLifted, 'without faulting');
  const id = addon.guardAcquire(views[0], 'out');
  t.ok(addon.guardIsActive(id), 'guards work again afterwards');
  addon.guardRelease(id);
});
