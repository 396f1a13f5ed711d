// An acquire whose protection change fails (injected through the test addon's seam: the
// kernel refusing mprotect/pkey_mprotect, as at vm.max_map_count) fails with a message
// naming the errno, and leaves nothing half-protected: the pages it had already protected
// are put back, pages another guard holds keep that guard's protection. Checked in
// /proc/self/smaps (permissions and protection key) and by touching the pages.
import t from 'tap';
import { addon, stats, rerunWithoutProtectionKeys } from './support/guard.js';
import { PAGE } from './support/page-protection.js';
import { threeTestPages } from './support/three-pages.js';

addon.guardInit('block');
const ENOMEM = 12, EPERM = 1;
const { view: threePages, page, before, touchAll } = threeTestPages();

t.test('the first protection change fails: the request fails naming the errno, nothing protected', async t => {
  addon.injectProtectFailures(0, 1, ENOMEM);
  t.throws(() => addon.guardAcquire(threePages, 'in'), /Cannot allocate memory \(errno 12; .*vm\.max_map_count = \d+/, 'error names errno and the limit');
  addon.clearProtectFailures();
  t.equal(addon.protectFailureCounts().failed, 1, 'the injected failure was hit');
  t.same([0, 1, 2].map(page), before, 'every page has its own protection and key 0 in /proc/self/smaps');
  t.equal(stats().activeGuards, 0, 'no guard left behind');
  touchAll(t);
});

t.test('a later change fails: what the acquire applied is undone, another guard keeps its page', async t => {
  const holder = addon.guardAcquire(threePages.subarray(PAGE + 100, PAGE + 200), 'in');
  const held = page(1);
  t.not(JSON.stringify(held), JSON.stringify(before[1]), 'the other guard\'s page is protected');
  // Pages 0 and 2 need a change each (page 1 already has the state): the second fails.
  addon.injectProtectFailures(1, 1, EPERM);
  t.throws(() => addon.guardAcquire(threePages, 'in'), /Operation not permitted \(errno 1\)/, 'error names the errno');
  addon.clearProtectFailures();
  const c = addon.protectFailureCounts();
  t.equal(c.failed, 1, 'exactly the second change failed');
  t.ok(c.seen >= 3, `the first change was undone (${c.seen} changes seen)`);
  t.same(page(0), before[0], 'page 0 (protected, then undone) is as before');
  t.same(page(2), before[2], 'page 2 (never protected) is as before');
  t.same(page(1), held, 'page 1 keeps the other guard\'s protection');
  t.equal(stats().activeGuards, 1, 'only the other guard is active');
  addon.guardRelease(holder);
  t.same([0, 1, 2].map(page), before, 'after its release every page is as before');
  touchAll(t);
});

t.test('after failures, guards work again', async t => {
  const id = addon.guardAcquire(threePages, 'in');
  t.ok(id >= 0, 'acquired');
  t.not(JSON.stringify(page(0)), JSON.stringify(before[0]), 'protected');
  addon.guardRelease(id);
  t.same([0, 1, 2].map(page), before, 'restored');
  touchAll(t);
});

// The same checks with plain mprotect (no protection keys), in a child of its own.
rerunWithoutProtectionKeys(t, import.meta.url);
