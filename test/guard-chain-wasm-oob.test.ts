// Chaining: faults that are not the engine's go to the handler installed before it (V8's
// WebAssembly trap handler via Node). With guards held, wasm out-of-bounds accesses must
// still throw RuntimeError, every time.
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
