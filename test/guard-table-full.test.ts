// The guard table holds 16384 guards. One more is refused with a clear error (the request
// can then fall back or fail), nothing is left half-protected, and after releases the
// table accepts guards again.
import t from 'tap';
import { addon, stats, memories, timed, FAST_MS } from './support/guard.js';

addon.guardInit('block');

t.test('acquiring past the table size throws "too many transfers in flight"; releasing frees slots', async t => {
  const m = memories()[0];
  const v = m.at(0, 64).bytes;
  const base = stats().activeGuards;
  const ids: number[] = [];
  const [, ms] = timed(() => {
    for (;;) {
      try { ids.push(addon.guardAcquire(v, 'out')); } catch (e) { return e; }
      if (ids.length > 20000) return null;
    }
  });
  const err = (() => { try { addon.guardAcquire(v, 'out'); return null; } catch (e) { return e as Error; } })();
  t.equal(ids.length + base, 16384, `16384 guards held (${ms.toFixed(0)} ms to acquire them)`);
  t.match(err?.message ?? '', /too many transfers in flight \(the guard table holds 16384\)/, 'the next one is refused clearly');
  t.equal(stats().activeGuards, 16384, 'the refused one left nothing behind');
  const other = m.at(8192, 64).bytes;
  t.throws(() => addon.guardAcquire(other, 'in'), /too many transfers/, 'refused for other memory too');
  other[0] = 1;  // must not wait: the refused guard protected nothing
  t.equal(other[0], 1, 'memory of the refused guard is not protected');
  for (const id of ids) addon.guardRelease(id);
  t.equal(stats().activeGuards, base, 'all released');
  const id = addon.guardAcquire(other, 'in');
  t.ok(id >= 0 && addon.guardIsActive(id), 'the table accepts guards again');
  addon.guardRelease(id);
  const [, wms] = timed(() => { v[0] = 2; other[1] = 2; });
  t.ok(wms < FAST_MS, 'and every page is free again');
});
