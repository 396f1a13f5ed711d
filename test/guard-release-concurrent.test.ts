// Releasing a guard from two threads at once (finalize's releaseAll racing a transport
// completion) must release it exactly once. test/native/guard_double_release.cpp.
//
// Regression: release() used to check `seq` is odd and then act without claiming the slot,
// so both threads decremented the page counts and freed the slot twice; the next two
// acquires got the same id (found by this test; fixed in 546eeac, which serializes
// acquire and release).
import t from 'tap';

t.setTimeout(290000);  // 2000 rounds that each read /proc/self/smaps
import { buildNative, runNative } from './support/native.js';

t.test('a guard released by two threads at once is released once; its slot is not handed out twice', { timeout: 300000 }, async t => {
  const b = buildNative('guard_double_release');
  t.ok(b.ok, `built ${b.ok ? '' : b.log}`);
  if (!b.ok) return;
  const r = runNative(b.path, ['2000'], {}, 120000);
  t.comment(r.stdout.trim());
  t.equal(r.status, 0, r.stdout.trim() || r.stderr.slice(0, 500));
});
