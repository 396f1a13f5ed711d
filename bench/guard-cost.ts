// What the guard itself costs, apart from any transport: protect + release of a buffer
// (arena = comm.alloc memory, double-mapped memfd; plain = an ordinary ArrayBuffer), the
// round trip of an access that waits (fault -> futex wait -> release by a native thread ->
// resume), and a collateral access single-stepped through a protected page.
//   node --import tsx bench/guard-cost.ts                        (protection keys where the CPU has them)
//   ZCMPI_GUARD_PKEYS=0 node --import tsx bench/guard-cost.ts    (mprotect + single step)
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

interface GuardAddon {
  guardInit(mode: 'block' | 'strict' | 'off'): void;
  guardAcquire(view: ArrayBufferView, dir: 'in' | 'out'): number;
  guardRelease(id: number): void;
  guardReleaseAfter(id: number, ms: number): void;
  alloc(bytes: number): ArrayBuffer;
  guardStats(): { mprotectCalls: number; faultsCollateral: number };
  guardMechanism?(): string;
  viewAddress(view: ArrayBufferView): bigint;
}
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
// The test addon: acquiring guards by hand and the stand-in device are test-only bindings.
const z = createRequire(import.meta.url)(process.env.ZCMPI_ADDON ?? join(root, 'build', 'Release', 'zcmpi_test.node')) as GuardAddon;
z.guardInit('block');
console.log(`# guarded pages protected with: ${z.guardMechanism?.() ?? 'mprotect (an engine without protection keys)'}`);

function timeUs(iterations: number, fn: () => void): number {
  fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1000 / iterations;
}

console.log('# guard acquire+release (inbound: PROT_NONE then lift), microseconds per pair');
console.log('# Size        arena(memfd)   plain(ArrayBuffer)   memcpy');
for (const size of [4096, 65536, 1 << 20, 4 << 20, 16 << 20, 64 << 20]) {
  const arena = new Uint8Array(z.alloc(size));
  const plain = new Uint8Array(new ArrayBuffer(size));
  arena.fill(1); plain.fill(1);
  const iters = size >= 16 << 20 ? 20 : 200;
  const a = timeUs(iters, () => z.guardRelease(z.guardAcquire(arena, 'in')));
  const p = timeUs(iters, () => z.guardRelease(z.guardAcquire(plain, 'in')));
  const c = timeUs(iters, () => plain.set(arena));
  console.log(`${String(size).padEnd(13)} ${a.toFixed(1).padStart(12)} ${p.toFixed(1).padStart(20)} ${c.toFixed(1).padStart(9)}`);
}

// A waited access: the release comes from a native thread after 0 ms, so this measures
// fault + futex sleep/wake + thread handoff.
const buf = new Uint8Array(z.alloc(1 << 20));
let total = 0;
const rounds = 200;
for (let i = 0; i < rounds; i++) {
  const id = z.guardAcquire(buf, 'in');
  z.guardReleaseAfter(id, 0);
  const t0 = process.hrtime.bigint();
  total += Number(process.hrtime.bigint() - t0 + BigInt(buf[i] & 0)) / 1000;
}
// Collateral: a neighbour on the same page as an inbound guard, stepped with the trap flag.
// Median of 7 runs of 2000 accesses each, after 2000 unmeasured ones (JIT warm-up).
// Both inside the one whole page that 8192 plain bytes always contain (a malloc'd buffer may
// start anywhere in a page: at fixed offsets the two could land on different pages, and the
// neighbour would then not fault at all).
const ab = new ArrayBuffer(8192);
const toPage = Number((4096n - (z.viewAddress(new Uint8Array(ab)) % 4096n)) % 4096n);
const guarded = new Uint8Array(ab, toPage, 64), neighbour = new Uint8Array(ab, toPage + 128, 64);
const gid = z.guardAcquire(guarded, 'in');
timeUs(2000, () => { neighbour[1]++; });
const runs = Array.from({ length: 7 }, () => timeUs(2000, () => { neighbour[1]++; })).sort((a, b) => a - b);
const collateral = runs[3];
const collateralFaults = z.guardStats().faultsCollateral;
// A string copy out of the guard's page: glibc's memmove uses `rep movsb` here, and each
// iteration that touches the page faults and is stepped on its own.
const copySrc = new Uint8Array(ab, toPage + 128, 3968), copyDst = new Uint8Array(4096);
const faultsBeforeCopy = z.guardStats().faultsCollateral;
const t0copy = process.hrtime.bigint();
copyDst.set(copySrc);
const copyUs = Number(process.hrtime.bigint() - t0copy) / 1000;
const copyFaults = z.guardStats().faultsCollateral - faultsBeforeCopy;
z.guardRelease(gid);
const waitedUs = timeUs(200, () => {
  const id = z.guardAcquire(buf, 'in');
  z.guardReleaseAfter(id, 0);
  buf[7] += 1;
});
console.log(`\n# waited access (fault, futex wait, release on another thread, resume): ${waitedUs.toFixed(1)} us (incl. acquire + thread start)`);
console.log(`# collateral access (fault, let one instruction through, single-step trap, close): ${collateral.toFixed(2)} us (median of 7; min ${runs[0].toFixed(2)}, max ${runs[6].toFixed(2)}; ${collateralFaults} collateral faults in all)`);
console.log(`# string copy of the 3968 other bytes of that page (TypedArray.set, one run): ${copyUs.toFixed(0)} us, ${copyFaults} collateral faults`);
void total;
