// A hot loop over a neighbour of a receive buffer in flight (1000 writes and 1000 reads,
// each one a collateral fault) completes quickly and without waiting.
import t from 'tap';
import { addon, stats, delta, timed, released, plainPages, SAFETY_MS } from './support/guard.js';

addon.guardInit('block');

t.test('1000-access loop on a same-page neighbour of a guarded range is fast', async t => {
  for (const [kind, mem] of [['arena (alloc)', new Uint8Array(addon.alloc(1 << 16))], ['plain ArrayBuffer', plainPages(1 << 16)]] as const) {
    const guarded = mem.subarray(8192 + 200, 8192 + 264);
    const neighbour = mem.subarray(8192 + 1000, 8192 + 1016);
    const before = stats();
    const id = addon.guardAcquire(guarded, 'in');
    addon.deviceFillAndRelease(guarded, 1, id, SAFETY_MS * 2);
    const [sum, ms] = timed(() => {
      let s = 0;
      for (let i = 0; i < 1000; i++) { neighbour[i & 15] = i & 255; s += neighbour[(i + 1) & 15]; }
      return s;
    });
    const d = delta(before);
    t.ok(addon.guardIsActive(id), `${kind}: the receive was in flight throughout`);
    t.ok(ms < 3000, `${kind}: 2000 neighbour accesses took ${ms.toFixed(0)} ms`);
    t.equal(d.faultsWaited, 0, `${kind}: none waited`);
    t.ok(d.faultsCollateral >= 1000, `${kind}: each was a collateral fault (${d.faultsCollateral})`);
    t.ok(sum > 0 && neighbour[15] === (991 & 255), `${kind}: the loop computed with the right values`);
    t.ok(await released(id, 10000));
  }
});
