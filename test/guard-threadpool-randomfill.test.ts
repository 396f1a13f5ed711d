// Thread-pool work writing into an in-flight buffer: crypto.randomFill runs on a libuv
// worker, which faults and waits there. The JS thread is not blocked (its timers keep
// firing); the fill lands after the device's release, never under it.
import t from 'tap';
import { randomFill } from 'node:crypto';
import { addon, memories, stats, delta, sleep, DELAY_MS } from './support/guard.js';

addon.guardInit('block');
if (addon.prepareThreadPool) await Promise.all(addon.prepareThreadPool(4));

function fillAsync(view: Uint8Array): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => randomFill(view, err => (err ? reject(err) : resolve(performance.now() - t0))));
}

for (const dir of ['in', 'out'] as const) {
  t.test(`crypto.randomFill into a ${dir === 'in' ? 'receive' : 'send'} buffer in flight waits on its worker, the event loop keeps running`, async t => {
    for (const m of memories()) {
      const tg = m.at(96, 3 * 4096);
      tg.bytes.fill(0);
      const before = stats();
      const id = addon.guardAcquire(tg.view, dir);
      if (dir === 'in') addon.deviceFillAndRelease(tg.view, 0x5c, id, DELAY_MS);
      else addon.guardReleaseAfter(id, DELAY_MS);
      let ticks = 0;
      const timer = setInterval(() => ticks++, 20);
      const filled = fillAsync(tg.bytes);
      await sleep(DELAY_MS / 2);
      const ticksWhileWaiting = ticks;
      t.ok(addon.guardIsActive(id), `${m.kind}: the transfer is still in flight half-way`);
      const ms = await filled;
      clearInterval(timer);
      t.ok(ticksWhileWaiting >= 3, `${m.kind}: JS timers fired while the worker waited (${ticksWhileWaiting})`);
      t.ok(ms >= DELAY_MS * 0.8, `${m.kind}: randomFill completed after the release (${ms.toFixed(0)} ms)`);
      const distinct = new Set(tg.bytes).size;
      const device = tg.bytes.filter(b => b === 0x5c).length;
      t.ok(distinct > 200, `${m.kind}: the buffer holds random bytes (${distinct} distinct values)`);
      t.ok(device < tg.bytes.length / 64, `${m.kind}: the fill was not overwritten by the device (${device} bytes of 0x5c)`);
      t.ok(delta(before).faultsWaited >= 1, `${m.kind}: the worker waited`);
    }
  });
}
