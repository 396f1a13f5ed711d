// A program access that faults on a guarded page just as the device releases the guard:
// release lifts the page before it wakes waiters, so the lift can land between the CPU's
// fault and the handler's look at the page. The access must simply run again (it now
// finds the page open); it must never be mistaken for a fault that is not the engine's
// and chained to the default action (the process dying of SIGSEGV).
// Runs 20000 races in a child; before the fix a run of 20000 died of SIGSEGV every time here.
import t from 'tap';
import { runFixture } from './support/guard.js';

t.test('accesses racing with the release of their guard complete with the right data', { timeout: 300000 }, async t => {
  const r = runFixture('release-race', ['20000'], { timeoutMs: 120000 });
  t.notOk(r.timedOut, 'no hang');
  t.equal(r.signal, null, `not killed by a signal (got ${r.signal})`);
  t.equal(r.status, 0, `exit 0 ${r.stderr.slice(-300)}`);
  const res = JSON.parse(r.stdout.trim().split('\n').pop() || '{}');
  t.equal(res.wrong, 0, `every racing access saw the completed data (${res.rounds} rounds, ${res.waited} waits, ${res.lifted} lifted)`);
});
