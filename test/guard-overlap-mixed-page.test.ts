// A receive and a send on adjacent ranges of one page: the page is no-access while the
// receive is in flight and read-only while only the send is. Each release keeps the
// protection the other guard still needs, in both release orders.
import t from 'tap';
import { addon, memories, stats, delta, timed, released, DELAY_MS, SAFETY_MS, FAST_MS } from './support/guard.js';

addon.guardInit('block');

t.test('receive released first: the page turns read-only for the remaining send', async t => {
  for (const m of memories()) {
    const page = m.at(0, 4096).bytes;
    page.fill(8);
    const rx = page.subarray(100, 200), tx = page.subarray(300, 400);
    const rid = addon.guardAcquire(rx, 'in');
    const tid = addon.guardAcquire(tx, 'out');
    addon.deviceFillAndRelease(rx, 0x72, rid, DELAY_MS / 3);
    t.ok(await released(rid), `${m.kind}: the receive completed`);
    const before = stats();
    addon.guardReleaseAfter(tid, SAFETY_MS);
    const [vals, ms] = timed(() => [tx[0], tx[99], rx[0], rx[99]]);
    t.same(vals, [8, 8, 0x72, 0x72], `${m.kind}: reads of both ranges see the right data`);
    const d0 = delta(before);
    t.equal(d0.faultsWaited + d0.faultsCollateral + d0.faultsLifted, 0, `${m.kind}: reads do not even fault (page read-only)`);
    const [, wms] = timed(() => { rx[50] = 1; page[4000] = 1; });
    t.ok(ms + wms < FAST_MS && addon.guardIsActive(tid), `${m.kind}: writes outside the send are collateral, no wait`);
    t.equal(delta(before).faultsWaited, 0, `${m.kind}: nothing waited`);
    t.ok(addon.guardIsActive(tid));
    t.ok(await released(tid));
    const before2 = stats();
    addon.guardReleaseAll();
    const tid2 = addon.guardAcquire(tx, 'out');
    addon.guardReleaseAfter(tid2, DELAY_MS);
    const [, ms2] = timed(() => { tx[1] = 2; });
    t.ok(ms2 >= DELAY_MS * 0.8 && delta(before2).faultsWaited === 1, `${m.kind}: a write to a send in flight still waits (${ms2.toFixed(0)} ms)`);
  }
});

t.test('send released first: the page stays no-access for the remaining receive', async t => {
  for (const m of memories()) {
    const page = m.at(0, 4096).bytes;
    page.fill(8);
    const rx = page.subarray(100, 200), tx = page.subarray(300, 400);
    const rid = addon.guardAcquire(rx, 'in');
    const tid = addon.guardAcquire(tx, 'out');
    addon.guardRelease(tid);
    const before = stats();
    addon.deviceFillAndRelease(rx, 0x72, rid, SAFETY_MS);
    const [, ms] = timed(() => { tx[0] = 5; return tx[1] + page[4000]; });
    t.ok(ms < FAST_MS && addon.guardIsActive(rid), `${m.kind}: the completed send's bytes are free (collateral)`);
    const d = delta(before);
    t.ok(d.faultsWaited === 0 && d.faultsCollateral >= 2, `${m.kind}: no wait, single-stepped (${d.faultsCollateral})`);
    const [v, rms] = timed(() => rx[42]);
    t.ok(rms > 100 && v === 0x72, `${m.kind}: a read of the receive still waits and sees the data (${rms.toFixed(0)} ms)`);
    t.equal(tx[0], 5, `${m.kind}: the write to the released send kept`);
    t.ok(await released(rid));
  }
});
