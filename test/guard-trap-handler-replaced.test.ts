// The single-step of a collateral access relies on the engine's SIGTRAP handler. A JS
// listener for SIGTRAP (process.on, as signal-exit and tap register) makes libuv replace
// that handler without chaining; without the engine taking it back, the next collateral
// access traps after every instruction forever. Regression test, run in a child.
import t from 'tap';
import { runFixture } from './support/guard.js';

t.test('collateral accesses still complete after process.on("SIGTRAP") replaced the trap handler', async t => {
  const r = runFixture('trap-listener', [], { timeoutMs: 30000 });
  t.notOk(r.timedOut, 'the child did not hang single-stepping');
  t.equal(r.status, 0, `exit status 0 (signal ${r.signal}; stderr: ${r.stderr.slice(-400)})`);
  t.match(r.stdout, /arena: collateral ok/, 'arena neighbours accessed while the guard was held');
  t.match(r.stdout, /plain: collateral ok/, 'after the listener was removed and re-added too');
  t.match(r.stdout, /listener got SIGTRAP/, 'a genuine SIGTRAP still reaches the JS listener (chained)');
});
