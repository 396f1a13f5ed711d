// fork(): the child holds no guards. A child that writes to a buffer its parent has in
// flight (send or receive) must not wait for a release that can never come in the child;
// forkChildWrites returns the child's status (0: its memset completed; 142: alarm fired,
// i.e. it hung). The parent's guard is untouched by the fork.
//
// Arena memory is MAP_SHARED (a memfd), so the child's writes land in the parent's pages;
// plain memory is copy-on-write, so the parent never sees them.
import t from 'tap';
import { addon, memories, stats, delta, timed, DELAY_MS } from './support/guard.js';

addon.guardInit('block');

for (const dir of ['out', 'in'] as const) {
  t.test(`a fork child writes a buffer its parent has in flight (${dir === 'out' ? 'send' : 'receive'}) without waiting`, async t => {
    for (const m of memories()) {
      const tg = m.at(96, 2 * 4096);
      tg.bytes.fill(0x10);
      const id = addon.guardAcquire(tg.view, dir);
      const status = addon.forkChildWrites(tg.view);
      t.equal(status, 0, `${m.kind}: the child wrote every byte and exited 0`);
      t.ok(addon.guardIsActive(id), `${m.kind}: the parent's guard is still held`);
      const before = stats();
      addon.guardReleaseAfter(id, DELAY_MS);
      const [, ms] = timed(() => { tg.bytes[1] = 0x20; });
      t.ok(ms >= DELAY_MS * 0.8 && delta(before).faultsWaited === 1, `${m.kind}: in the parent a write still waits (${ms.toFixed(0)} ms)`);
      const expected = m.kind.startsWith('arena') ? 0x5a : 0x10;
      t.equal(tg.bytes[0], expected, `${m.kind}: parent sees ${expected === 0x5a ? "the child's write (shared mapping)" : 'its own data (copy-on-write)'}`);
    }
  });
}
