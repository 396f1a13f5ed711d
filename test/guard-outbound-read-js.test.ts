// Outbound guard (a send in flight): reads from JavaScript proceed at once and see the
// bytes, for every kind of memory. A read-only page is readable, so nothing even faults.
import t from 'tap';
import { addon, memories, stats, delta, timed, released, SAFETY_MS, FAST_MS } from './support/guard.js';

addon.guardInit('block');

t.test('reads of a send buffer in flight proceed without waiting (arena and plain memory)', async t => {
  const targets = memories().map(m => ({ kind: m.kind, tg: m.at(96, 3 * 4096) }));
  for (const { tg } of targets) for (let i = 0; i < tg.n; i++) tg.view[i] = tg.sample(i);
  const before = stats();
  const ids = targets.map(({ tg }) => addon.guardAcquire(tg.view, 'out', { peer: 1, tag: 5 }));
  // The release is far away: if a read waited, the test would see the elapsed time.
  for (const id of ids) addon.guardReleaseAfter(id, SAFETY_MS);
  for (const [k, { kind, tg }] of targets.entries()) {
    const [bad, ms] = timed(() => {
      let wrong = 0;
      for (let i = 0; i < tg.n; i++) if (tg.view[i] !== tg.sample(i)) wrong++;
      return wrong;
    });
    t.equal(bad, 0, `${kind}: every element reads back what was written before the send`);
    t.ok(ms < FAST_MS, `${kind}: ${tg.n} reads took ${ms.toFixed(1)} ms`);
    t.ok(addon.guardIsActive(ids[k]), `${kind}: the send was still in flight during the reads`);
  }
  const d = delta(before);
  t.equal(d.faultsWaited, 0, 'no read waited');
  t.equal(d.faultsCollateral + d.faultsLifted, 0, 'reads of read-only pages do not even fault');
  for (const id of ids) t.ok(await released(id), 'the device completes later');
});
