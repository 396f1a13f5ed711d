// A collateral access (a neighbour on the page of an inbound guard, let through for one
// instruction) while N other guards are active elsewhere: the fault handler's lookup of
// the guards an access may conflict with must not grow with N.
//   node --import tsx bench/guard-lookup.ts            (default N: 10 10000 200000)
//   node --import tsx bench/guard-lookup.ts 10 1000     (other N)
// Each N: the N guards are 1-7 byte ranges with gaps in a block of their own (as
// test/guard-many-guards.test.ts), then median of 5 runs of `iterations` accesses after
// 2000 unmeasured ones at N = 0 (JIT warm-up) and one unmeasured run at that N.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

interface GuardAddon {
  guardInit(mode: 'block'): void;
  guardAcquire(view: ArrayBufferView, dir: 'in' | 'out'): number;
  guardRelease(id: number): void;
  alloc(bytes: number): ArrayBuffer;
  guardStats(): { activeGuards: number; faultsCollateral: number };
  guardMechanism(): string;
}
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const z = createRequire(import.meta.url)(process.env.ZCMPI_ADDON ?? join(root, 'build', 'Release', 'zcmpi_test.node')) as GuardAddon;
z.guardInit('block');
const counts = process.argv.slice(2).map(Number);
const Ns = counts.length ? counts : [10, 10000, 200000];

const target = new Uint8Array(z.alloc(1 << 20));
const gid = z.guardAcquire(target.subarray(0, 64), 'in');
const neighbour = target.subarray(128, 192);
function perAccessUs(iterations: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) neighbour[1]++;
  return Number(process.hrtime.bigint() - t0) / 1000 / iterations;
}
perAccessUs(2000);

console.log(`# guarded pages protected with: ${z.guardMechanism()}`);
console.log('# Active guards   collateral access (us, median of 5)   min     max');
const others = new Uint8Array(z.alloc(8 << 20));
for (const n of Ns) {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(z.guardAcquire(others.subarray(i * 10, i * 10 + 1 + (i % 7)), i & 1 ? 'in' : 'out'));
  const before = z.guardStats().faultsCollateral;
  const iterations = Math.max(5, Math.min(2000, Math.floor(2e6 / (n + 100))));
  perAccessUs(iterations);
  const runs = Array.from({ length: 5 }, () => perAccessUs(iterations)).sort((a, b) => a - b);
  const stepped = z.guardStats().faultsCollateral - before;
  if (stepped < 6 * iterations) throw new Error(`only ${stepped} collateral faults for ${6 * iterations} accesses`);
  console.log(`${String(z.guardStats().activeGuards).padEnd(17)} ${runs[2].toFixed(2).padStart(12)} ${runs[0].toFixed(2).padStart(30)} ${runs[4].toFixed(2).padStart(7)}`);
  for (const id of ids) z.guardRelease(id);
}
z.guardRelease(gid);
