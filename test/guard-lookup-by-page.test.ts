// The fault handler finds guards by page (native/guard/guard_index.cpp): a guarded byte of
// a guard listed per page or per whole 2 MiB span still waits, a neighbour on its last page
// does not, and a collateral access costs the same with 200000 guards active elsewhere
// (with the former table scan, ~20-50 ms each here: 200 of them took 4 s and more).
import t from 'tap';
import { addon, stats, timed, DELAY_MS, FAST_MS } from './support/guard.js';

t.setTimeout(290000);
addon.guardInit('block');
const MiB = 1 << 20;

t.test('guards listed per 2 MiB span and per page: guarded bytes wait, neighbours do not', async t => {
  const mem = new Uint8Array(addon.alloc(16 * MiB));
  const off = Number((2n * BigInt(MiB) - (addon.viewAddress(mem) % (2n * BigInt(MiB)))) % (2n * BigInt(MiB)));
  const whole = mem.subarray(off, off + 8 * MiB);  // four whole aligned spans
  let id = addon.guardAcquire(whole, 'in');
  addon.guardReleaseAfter(id, DELAY_MS);
  let [v, ms] = timed(() => whole[5 * MiB + 123]);
  t.ok(ms > DELAY_MS * 0.6, `a byte in the third span waits (${ms.toFixed(0)} ms)`);
  t.equal(v, 0, 'and reads the bytes');
  // Unaligned at both ends: pages, then whole spans, then pages.
  const start = off + 4096 + 8, end = off + 6 * MiB + 100;
  id = addon.guardAcquire(mem.subarray(start, end), 'in');
  [, ms] = timed(() => { mem[end + 50] = 1; });
  t.ok(ms < FAST_MS, `a neighbour on the last page does not wait (${ms.toFixed(1)} ms)`);
  [, ms] = timed(() => { mem[start - 4] = 1; });
  t.ok(ms < FAST_MS, `a neighbour on the first page does not wait (${ms.toFixed(1)} ms)`);
  addon.guardReleaseAfter(id, DELAY_MS);
  [v, ms] = timed(() => mem[off + 3 * MiB]);
  t.ok(ms > DELAY_MS * 0.6, `a byte in a whole span of it waits (${ms.toFixed(0)} ms)`);
  t.equal(v, 0, 'and reads the bytes');
});

t.test('a collateral access does not slow down with 200000 guards active elsewhere', async t => {
  const target = new Uint8Array(addon.alloc(MiB));
  const gid = addon.guardAcquire(target.subarray(0, 64), 'in');
  const others = new Uint8Array(addon.alloc(8 * MiB));
  const ids = new Int32Array(200000);
  for (let i = 0; i < ids.length; i++) ids[i] = addon.guardAcquire(others.subarray(i * 10, i * 10 + 1 + (i % 7)), i & 1 ? 'in' : 'out');
  const before = stats().faultsCollateral;
  const [, ms] = timed(() => { for (let i = 0; i < 200; i++) target[128 + (i & 63)]++; });
  t.ok(stats().faultsCollateral - before >= 200, 'each access was a collateral fault (a read and a write may fault apart)');
  t.ok(ms < FAST_MS, `200 collateral accesses with ${stats().activeGuards} guards active took ${ms.toFixed(1)} ms`);
  for (const id of ids) addon.guardRelease(id);
  addon.guardRelease(gid);
  t.equal(stats().activeGuards, 0, 'all released');
});
