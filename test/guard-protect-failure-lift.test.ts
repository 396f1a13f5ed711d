// A lift (release) whose protection change fails is retried until it succeeds, and never
// recorded as done: the pages end with their own protection, and zcmpi's protection is
// never learned as a page's original (a later guard on the same pages restores read-write,
// a send guard there is accepted). Failures injected through the test addon's seam.
import t from 'tap';
import { addon, rerunWithoutProtectionKeys } from './support/guard.js';
import { threeTestPages } from './support/three-pages.js';

addon.guardInit('block');
const ENOMEM = 12;
const { view: threePages, page, before, touchAll } = threeTestPages();

for (const dir of ['in', 'out'] as const) {
  t.test(`${dir}: three failed lifts are retried; the pages end as they were`, async t => {
    const id = addon.guardAcquire(threePages, dir);
    t.not(JSON.stringify(page(0)), JSON.stringify(before[0]), 'protected while guarded');
    addon.injectProtectFailures(0, 3, ENOMEM);
    addon.guardRelease(id);
    const c = addon.protectFailureCounts();
    addon.clearProtectFailures();
    t.equal(c.failed, 3, 'three lifts failed');
    t.ok(c.seen >= 4, `and were retried until one succeeded (${c.seen} changes)`);
    t.same([0, 1, 2].map(page), before, 'every page has its own protection and key 0 again');
    t.notOk(addon.guardIsActive(id), 'the guard is released');
    touchAll(t);
  });
}

t.test('the original is never learned from a failed lift: later guards restore read-write', async t => {
  // Lifts fail while another guard of the same pages is acquired and released: if a failed
  // lift had been recorded, the second acquire would learn the no-access state as original.
  const a = addon.guardAcquire(threePages, 'in');
  addon.injectProtectFailures(0, 2, ENOMEM);
  addon.guardRelease(a);
  addon.clearProtectFailures();
  const b = addon.guardAcquire(threePages, 'out');  // refused if the original had become no-access
  t.ok(b >= 0, 'a send guard is accepted: the pages are known readable');
  addon.guardRelease(b);
  t.same([0, 1, 2].map(page), before, 'read-write (and key 0) again');
  touchAll(t);
});

// The same checks with plain mprotect (no protection keys), in a child of its own.
rerunWithoutProtectionKeys(t, import.meta.url);
