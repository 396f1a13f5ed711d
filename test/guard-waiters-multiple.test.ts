// Several threads waiting on the same guard (the JS thread and thread-pool workers) are
// all woken by the one release and all see the received data.
import t from 'tap';
import { randomFill } from 'node:crypto';
import { promisify } from 'node:util';
import fs from 'node:fs';
import { addon, memories, stats, delta, sleep, DELAY_MS } from './support/guard.js';

addon.guardInit('block');
if (addon.prepareThreadPool) await Promise.all(addon.prepareThreadPool(4));

t.test('one release wakes every thread waiting on the guard', async t => {
  for (const m of memories().slice(0, 2)) {
    const tg = m.at(0, 4 * 4096);
    const recv = tg.bytes;
    const id = addon.guardAcquire(recv, 'in');
    addon.deviceFillAndRelease(recv, 0x3d, id, DELAY_MS * 2);
    const before = stats();
    // Two workers fault on different pages of the receive, then the JS thread on a third.
    const fills = [promisify(randomFill)(recv.subarray(0, 32)), promisify(randomFill)(recv.subarray(8192, 8192 + 32))];
    const copy = promisify(fs.writeFile)('/dev/null', Buffer.alloc(10));
    await sleep(DELAY_MS / 2);
    t.ok(addon.guardIsActive(id), `${m.kind}: still in flight with workers waiting`);
    const v = recv[3 * 4096 + 5];
    await Promise.all([...fills, copy]);
    t.equal(v, 0x3d, `${m.kind}: the JS thread woke with the received data`);
    t.ok(delta(before).faultsWaited >= 3, `${m.kind}: three waits (${delta(before).faultsWaited})`);
    t.ok(new Set(recv.subarray(0, 32)).size > 8 && new Set(recv.subarray(8192, 8224)).size > 8, `${m.kind}: both workers completed their fills after the release`);
    t.ok(recv.subarray(32, 8192).every(b => b === 0x3d), `${m.kind}: the rest holds the received data`);
  }
});
