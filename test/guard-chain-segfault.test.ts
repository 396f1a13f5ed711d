// Chaining: a genuine crash still dies of SIGSEGV, exactly as without zcmpi, whether the
// engine is initialized or not and whether guards are held; a write to truly read-only
// memory is not swallowed as a collateral access.
import t from 'tap';
import { runFixture } from './support/guard.js';

const cases: [string, string][] = [
  ['null-noinit', 'a write through a near-null pointer, engine not initialized'],
  ['null-init', 'a write through a near-null pointer, engine initialized, guards held'],
  ['readonly-init', 'a write to the executable\'s read-only segment, guards held'],
];

for (const [arg, what] of cases) {
  t.test(`${what}: dies of SIGSEGV`, async t => {
    const r = runFixture('crash', [arg], { timeoutMs: 60000 });
    if (r.status === 77) { t.skip(r.stdout.trim()); return; }
    t.notOk(r.timedOut, 'did not hang');
    t.equal(r.signal, 'SIGSEGV', `killed by SIGSEGV (status ${r.status}, stderr ${r.stderr.slice(-300)})`);
    t.match(r.stdout, /writing to/, 'reached the bad write');
    t.notMatch(r.stdout, /survived/, 'and did not survive it');
  });
}
