// Off mode (the unsafe baseline): guardAcquire returns -1 and nothing is protected; no
// mprotect, no fault, accesses are immediate, releasing -1 is harmless.
import t from 'tap';
import { addon, stats, delta, timed, FAST_MS } from './support/guard.js';

addon.guardInit('off');

t.test('off mode: acquire returns -1 and protects nothing', async t => {
  const before = stats();
  // memories() probes page boundaries with guards, which needs block mode: use raw memory here.
  const views = [new Uint8Array(addon.alloc(1 << 16)).subarray(100, 9000), new Uint8Array(1 << 16).subarray(100, 9000),
                 Buffer.alloc(20000), new Float64Array(3000)];
  for (const v of views) {
    const ids = [addon.guardAcquire(v, 'in', { peer: 1, tag: 2 }), addon.guardAcquire(v, 'out')];
    t.same(ids, [-1, -1], `${v.constructor.name}: no guard`);
    t.notOk(addon.guardIsActive(-1), 'nothing active');
    const [, ms] = timed(() => { v[5] = 7; return v[6]; });
    t.ok(ms < FAST_MS && v[5] === 7, `${v.constructor.name}: accesses are immediate`);
    addon.nativeFill(v, 1);
    t.ok(addon.threadTouch(v, true, 2) > 0, 'native threads too');
    for (const id of ids) addon.guardRelease(id);
  }
  const d = delta(before);
  t.same(d, { guardsAcquired: 0, faultsWaited: 0, faultsLifted: 0, faultsCollateral: 0, strictReports: 0, mprotectCalls: 0, activeGuards: 0, futexCallsRedone: 0, signalMaskCallsRedone: 0, stringBytesEmulated: 0 },
    'no guard, no fault, no mprotect');
});
