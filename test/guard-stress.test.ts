// Stress: thousands of random guards (random offsets and lengths, unaligned, overlapping
// sends, both directions) over arena and plain memory; stand-in device threads fill every
// receive with a known value and release at random times while the JS thread (and native
// code on it, and another native thread) reads and writes random bytes, some inside
// guards in flight. A byte-exact model of the expected contents must match at every read
// and at the end: zero bytes lost or corrupted; afterwards no guard is left and every page
// is back to its original protection (no access faults, the kernel can read and write it).
import t from 'tap';
import fs from 'node:fs';
import { addon, stats, delta, allReleased, plainPages, arenaMappings } from './support/guard.js';

addon.guardInit('block');

const GUARDS = Number(process.env.ZCMPI_STRESS_GUARDS ?? 5000);
const SIZE = 256 * 1024;
const MAX_ACTIVE = 48;

// xorshift32: reproducible runs (seed printed on failure).
const seed = Number(process.env.ZCMPI_STRESS_SEED ?? (Date.now() & 0x7fffffff)) || 1;
let rs = seed;
const rnd = (n: number) => { rs ^= rs << 13; rs >>>= 0; rs ^= rs >>> 17; rs ^= rs << 5; rs >>>= 0; return rs % n; };

interface Region { name: string; mem: Uint8Array; model: Uint8Array }
interface G { id: number; r: Region; off: number; len: number; dir: 'in' | 'out' }

t.test(`${GUARDS} random guards with concurrent device fills and JS accesses: zero bytes lost`, { timeout: 300000 }, async t => {
  t.comment(`seed ${seed}`);
  const regions: Region[] = [
    { name: 'arena', mem: new Uint8Array(addon.alloc(SIZE)), model: new Uint8Array(SIZE) },
    { name: 'plain', mem: plainPages(SIZE), model: new Uint8Array(SIZE) },
  ];
  for (const r of regions) for (let i = 0; i < SIZE; i++) r.mem[i] = r.model[i] = i & 0xff;
  const before = stats();
  let active: G[] = [];
  let acquired = 0, accesses = 0, mismatches = 0, firstMismatch = '';
  const overlaps = (a: G, off: number, len: number) => a.off < off + len && off < a.off + a.len;
  const check = (r: Region, i: number, got: number, how: string) => {
    accesses++;
    if (got !== r.model[i]) {
      mismatches++;
      if (!firstMismatch) firstMismatch = `${how} ${r.name}[${i}] = ${got}, expected ${r.model[i]} (after ${acquired} guards)`;
    }
  };
  const t0 = Date.now();
  while (acquired < GUARDS) {
    active = active.filter(g => addon.guardIsActive(g.id));
    if (active.length < MAX_ACTIVE) {
      const r = regions[rnd(2)];
      const dir = rnd(2) ? 'in' : 'out';
      const len = rnd(4) === 0 ? 1 + rnd(3 * 4096) : 1 + rnd(300);
      const off = rnd(SIZE - len);
      const mine = active.filter(g => g.r === r);
      const clash = dir === 'in' ? mine.some(g => overlaps(g, off, len)) : mine.some(g => g.dir === 'in' && overlaps(g, off, len));
      if (!clash) {
        const view = r.mem.subarray(off, off + len);
        const id = addon.guardAcquire(view, dir);
        active = active.filter(g => g.id !== id);  // a reused slot: the old guard is gone
        const g: G = { id, r, off, len, dir };
        active.push(g);
        acquired++;
        if (dir === 'in') {
          const fill = 1 + rnd(255);
          r.model.fill(fill, off, off + len);
          addon.deviceFillAndRelease(view, fill, id, rnd(4));
        } else {
          addon.guardReleaseAfter(id, rnd(4));
        }
      }
    }
    // JS accesses: mostly near a guard in flight (inside, neighbour, same page).
    for (let k = 0; k < 3; k++) {
      const r = regions[rnd(2)];
      const near = active.length && rnd(3) ? active[rnd(active.length)] : null;
      const i = near && near.r === r ? Math.min(SIZE - 1, Math.max(0, near.off - 64 + rnd(near.len + 128))) : rnd(SIZE);
      if (rnd(2)) check(r, i, r.mem[i], 'read');
      else { const v = rnd(256); r.mem[i] = v; r.model[i] = v; }
    }
    if (rnd(50) === 0) {  // native code on the JS thread over a small range
      const r = regions[rnd(2)];
      const off = rnd(SIZE - 64), len = 1 + rnd(64);
      if (rnd(2)) {
        let want = 0;
        for (let i = off; i < off + len; i++) want += r.model[i];
        const got = addon.nativeSum(r.mem.subarray(off, off + len));
        accesses++;
        if (got !== want) { mismatches++; firstMismatch ||= `nativeSum ${r.name}[${off}+${len}] = ${got}, expected ${want}`; }
      } else {
        const v = rnd(256);
        addon.nativeFill(r.mem.subarray(off, off + len), v);
        r.model.fill(v, off, off + len);
      }
    }
    if (rnd(200) === 0) {  // another native thread
      const r = regions[rnd(2)];
      const off = rnd(SIZE - 32), len = 1 + rnd(32);
      const v = rnd(256);
      addon.threadTouch(r.mem.subarray(off, off + len), true, v);
      r.model.fill(v, off, off + len);
    }
    if (acquired % 500 === 0) await new Promise(res => setImmediate(res));
  }
  t.ok(await allReleased(), 'every device completed');
  const runMs = Date.now() - t0;
  t.equal(stats().activeGuards, 0, 'no guard left');
  t.equal(mismatches, 0, `every read during the run matched the model (${accesses} checked) ${firstMismatch}`);
  for (const r of regions) {
    let bad = 0, first = -1;
    for (let i = 0; i < SIZE; i++) if (r.mem[i] !== r.model[i]) { bad++; if (first < 0) first = i; }
    t.equal(bad, 0, `${r.name}: all ${SIZE} bytes as expected${bad ? ` (first wrong byte ${first}: ${r.mem[first]} vs ${r.model[first]})` : ''}`);
  }
  const d = delta(before);
  t.comment(`${acquired} guards in ${runMs} ms: ${d.faultsWaited} waits, ${d.faultsCollateral} collateral, ${d.faultsLifted} lifted, ${d.mprotectCalls} mprotect calls`);
  t.ok(d.faultsWaited > 100 && d.faultsCollateral > 100, 'the run exercised waits and collateral accesses');
  // Protections fully restored: a full pass of reads and writes faults nowhere, and the
  // kernel can write from and read into every page.
  const s1 = stats();
  for (const r of regions) { for (let i = 0; i < SIZE; i += 64) { r.mem[i] = r.mem[i + 1]; } }
  const d1 = delta(s1);
  t.same([d1.faultsWaited, d1.faultsCollateral, d1.faultsLifted], [0, 0, 0], 'no page is still protected (no fault on a full pass)');
  for (const r of regions) {
    const fd = fs.openSync('/dev/zero', 'r');
    const wfd = fs.openSync('/dev/null', 'w');
    t.equal(fs.writeSync(wfd, r.mem), SIZE, `${r.name}: write(2) from every page`);
    t.equal(fs.readSync(fd, r.mem, 0, SIZE, null), SIZE, `${r.name}: read(2) into every page`);
    fs.closeSync(fd); fs.closeSync(wfd);
  }
  t.same(arenaMappings().filter(mp => mp.perms !== 'rw-s'), [], 'arena mappings read-write in /proc/self/maps');
});
