// Starting a child process (libuv spawn: fork/clone + exec) while guards are held must not
// disturb the parent's guards: the fork handler that drops guards runs only in the child.
import t from 'tap';
import { spawnSync, execFileSync } from 'node:child_process';
import { addon, memories, stats, delta, timed, DELAY_MS } from './support/guard.js';

addon.guardInit('block');

t.test('child_process.spawnSync/execFileSync while guards are held leave them in place', async t => {
  for (const m of memories().slice(0, 2)) {
    const send = m.at(0, 4096).bytes, recv = m.at(8192, 4096).bytes;
    send.fill(1);
    const s = addon.guardAcquire(send, 'out'), r = addon.guardAcquire(recv, 'in');
    const res = spawnSync('/bin/true');
    t.equal(res.status, 0, `${m.kind}: spawnSync ran a child`);
    t.equal(execFileSync('/bin/echo', ['hi']).toString(), 'hi\n', `${m.kind}: execFileSync too`);
    t.ok(addon.guardIsActive(s) && addon.guardIsActive(r), `${m.kind}: both guards still held`);
    const before = stats();
    addon.guardReleaseAfter(s, DELAY_MS);
    addon.deviceFillAndRelease(recv, 0x29, r, DELAY_MS);
    const [, ms] = timed(() => { send[0] = 2; });
    t.ok(ms >= DELAY_MS * 0.8, `${m.kind}: a write to the send still waits (${ms.toFixed(0)} ms)`);
    t.equal(recv[100], 0x29, `${m.kind}: the receive still delivers`);
    t.ok(delta(before).faultsWaited >= 1, `${m.kind}: waited`);
  }
});
