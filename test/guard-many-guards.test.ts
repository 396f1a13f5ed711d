// No limit a program can hit (issue 6, item 4): 200000 distinct byte ranges guarded at
// once (a program that posts 20000 receives before the message that lets its peer start
// sending hung forever when the table held 16384). Every guard is installed, neighbours
// still work, a guarded byte still waits, and after the releases every page is free.
import t from 'tap';
import { addon, stats, timed, FAST_MS } from './support/guard.js';

t.setTimeout(290000);
addon.guardInit('block');
const N = 200000;

t.test(`${N} guards on distinct byte ranges are all held at once`, async t => {
  const mem = new Uint8Array(addon.alloc(8 << 20));
  const base = stats().activeGuards;
  const ids = new Int32Array(N);
  // ranges of 1-7 bytes with 2-byte gaps, every other one a receive
  const at = (i: number) => i * 10;
  const len = (i: number) => 1 + (i % 7);
  const [, ms] = timed(() => {
    for (let i = 0; i < N; i++) ids[i] = addon.guardAcquire(mem.subarray(at(i), at(i) + len(i)), i & 1 ? 'in' : 'out');
  });
  t.equal(stats().activeGuards - base, N, `${N} guards held (${ms.toFixed(0)} ms to acquire them)`);
  t.equal(new Set(ids).size, N, 'each has its own id');
  t.ok(addon.guardIsActive(ids[0]) && addon.guardIsActive(ids[N - 1]), 'the first and the last are active');
  // a gap byte between two guards: collateral, no wait
  const [, nms] = timed(() => { mem[at(N - 2) + 8] = 5; });
  t.ok(nms < FAST_MS, `a neighbour between two of them does not wait (${nms.toFixed(1)} ms)`);
  t.equal(mem[at(N - 2) + 8], 5, 'and the write landed');
  // a guarded byte of a receive near the end waits for its release
  addon.guardReleaseAfter(ids[N - 1], 300);
  const [seen, wms] = timed(() => mem[at(N - 1)]);
  t.ok(wms > 200, `a guarded byte waits for its own release (${wms.toFixed(0)} ms)`);
  t.equal(seen, 0, 'and reads the bytes');
  const [, rms] = timed(() => { for (let i = 0; i < N - 1; i++) addon.guardRelease(ids[i]); });
  t.equal(stats().activeGuards, base, `all released (${rms.toFixed(0)} ms)`);
  const [, fms] = timed(() => { for (let i = 0; i < N; i += 997) mem[at(i)] = 1; });
  t.ok(fms < FAST_MS, 'every page is free again');
});
