// Chaining: faults that are not the engine's go to the handler installed before it (V8's
// WebAssembly trap handler via Node). With guards held, wasm out-of-bounds accesses must
// still throw RuntimeError, every time. The child gets the environment the test process
// had before loading the addon, as a user's program would.
//
// KNOWN BUG with the full addon (fails with build/Release/zcmpi.node, passes with the
// guard+memory-only test addon): the addon links libucs, whose load-time initialization
// installs UCX's error-signal handler for SIGSEGV (UCX_ERROR_SIGNALS) over Node's wasm trap
// handler, before RegisterGuard's setenv("UCX_ERROR_SIGNALS", "", 0) can run. The engine
// then chains foreign faults to UCX's handler, which prints a backtrace and kills the
// process: a wasm out-of-bounds access crashes instead of throwing. Fix: set the variable
// before libucs loads (launcher / runtime environment, or dlopen UCX after setenv).
import t from 'tap';
import { runFixture } from './support/guard.js';

t.test('wasm out-of-bounds still throws RuntimeError while guards are held', async t => {
  const r = runFixture('wasm', ['oob'], { timeoutMs: 60000 });
  t.equal(r.status, 0, `the child exited normally (signal ${r.signal}) ${r.stderr.slice(-400)}`);
  const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  t.equal(res.count, 600, '600 out-of-bounds accesses tried');
  t.same(res.kinds, ['RuntimeError: memory access out of bounds'], 'each one threw RuntimeError');
  t.ok(res.stillActive, 'with every guard still held');
  t.ok(res.ms < 5000, `quickly (${res.ms?.toFixed(0)} ms)`);
});
