// Chaining: faults that are not the engine's go to the handler installed before it (V8's
// WebAssembly trap handler via Node). With guards held, wasm out-of-bounds accesses must
// still throw RuntimeError, every time. The child gets the environment the test process
// had before loading the addon, as a user's program would.
//
// Regression: with the full addon, libucs installed UCX's error-signal handler for SIGSEGV
// at load, over Node's wasm trap handler, so wasm out-of-bounds accesses killed the process
// (found by this test; fixed in b13aa00: UCX_ERROR_SIGNALS='' before the load, and the
// addon hands the signals back with ucs_debug_disable_signal for direct loads).
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
