// Strict mode reports a hazard once per guard: two threads faulting on the same receive
// in flight (a thread-pool worker and the JS thread) give one report; a new guard on the
// same bytes is a new request and is reported again.
import t from 'tap';
import { runFixture } from './support/guard.js';

t.test('one report per guard, however many accesses fault on it', async t => {
  const r = runFixture('strict', ['once'], { timeoutMs: 60000 });
  t.equal(r.status, 0, `exit 0 (signal ${r.signal}) ${r.stderr.slice(-300)}`);
  const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  t.equal(res.jsRead0, 0x44, 'the JS read waited for the received data');
  t.ok(res.waitsAfterRound0 >= 2, `both threads faulted and waited (${res.waitsAfterRound0} waits)`);
  t.equal(res.reportsAfterRound0, 1, 'worker + JS thread on the same guard: one report');
  t.equal(res.reportsAfterRound1, 2, 'a second guard on the same bytes: one more');
  t.equal(r.stderr.split('\n').filter(l => l.includes('ERROR: zcmpi:')).length, 2, 'two reports on stderr');
});
