// Wasm code follows the same rules as JS: its faults come from JIT-compiled wasm, where
// V8's trap handler would otherwise call them out-of-bounds. A neighbour of a guarded
// range in wasm memory is collateral; a load of the guarded bytes waits for the device.
import t from 'tap';
import { runFixture } from './support/guard.js';

t.test('wasm loads and stores on a wasm memory under a receive guard', async t => {
  const r = runFixture('wasm', ['guarded-memory'], { timeoutMs: 60000 });
  t.equal(r.status, 0, `the child exited normally (signal ${r.signal}) ${r.stderr.slice(-400)}`);
  const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  t.ok(res.active && res.neighbourMs < 400, `neighbour store/load free while in flight (${res.neighbourMs?.toFixed(1)} ms)`);
  t.equal(res.neighbourWaits, 0, 'no neighbour access waited');
  t.ok(res.collateral >= 2, `they were collateral (${res.collateral})`);
  t.equal(res.stored, 9, 'the wasm store landed');
  t.equal(res.neighbour, 1, 'the wasm load read the neighbour');
  t.ok(res.guardedMs > 500, `the guarded load waited (${res.guardedMs?.toFixed(0)} ms)`);
  t.equal(res.guarded, 0x33, 'and returned the received byte');
  t.equal(res.guardedWaits, 1, 'one wait');
});
