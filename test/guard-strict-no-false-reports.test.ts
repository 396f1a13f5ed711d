// Strict mode never reports what MPI allows: reads of send buffers (JS, native code,
// another thread, Buffer methods), accesses to neighbours on the same page of sends and
// receives, accesses after completion. Block mode never reports at all.
import t from 'tap';
import { runFixture } from './support/guard.js';

t.test('strict mode: allowed accesses are never reported', async t => {
  const r = runFixture('strict', ['clean'], { timeoutMs: 60000 });
  t.equal(r.status, 0, `exit 0 (signal ${r.signal})`);
  const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  t.ok(res.activeDuring, 'the accesses happened while both guards were held');
  t.equal(res.reports, 0, 'no report counted');
  t.notMatch(r.stderr, /ERROR: zcmpi/, 'nothing on stderr');
});

t.test('block mode: the three hazards wait but are never reported', async t => {
  const r = runFixture('strict', ['block'], { timeoutMs: 60000 });
  t.equal(r.status, 0, `exit 0 (signal ${r.signal})`);
  const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  t.equal(res.reports, 0, 'no report counted');
  t.notMatch(r.stderr, /ERROR: zcmpi/, 'nothing on stderr');
});
