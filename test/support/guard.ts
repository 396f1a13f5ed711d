// Shared helpers for the guard-engine tests (test/guard-*.test.ts).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import addon, { repoRoot, envBeforeLoad, type GuardStats } from './addon.js';

export { addon };

/** A wait lasts at least this long in the tests (the stand-in device's delay). */
export const DELAY_MS = 300;
/** Accesses that must not wait finish well under this. */
export const FAST_MS = 400;
/** Release time for guards whose accesses must not wait: a safety net so a bug fails instead of hanging. */
export const SAFETY_MS = 1200;

export const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms));

export function stats(): GuardStats { return addon.guardStats(); }

/** True when guards use protection keys: a single step then opens a page for one thread only. */
export function usesProtectionKeys(): boolean { return addon.guardMechanism().startsWith('protection keys'); }

/** Counter changes since `before`. */
export function delta(before: GuardStats, after: GuardStats = stats()): GuardStats {
  const d = {} as GuardStats;
  for (const k of Object.keys(after) as (keyof GuardStats)[]) d[k] = after[k] - before[k];
  return d;
}

/** Runs fn and returns [result, elapsed ms]. */
export function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}

/** Resolves once the guard is released (polls without blocking the event loop). */
export async function released(id: number, timeoutMs = 10000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (addon.guardIsActive(id)) {
    if (Date.now() > end) return false;
    await sleep(5);
  }
  return true;
}

/** Resolves once no guard is active at all. */
export async function allReleased(timeoutMs = 20000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (stats().activeGuards > 0) {
    if (Date.now() > end) return false;
    await sleep(5);
  }
  return true;
}

/**
 * Memory of every kind the runtime accepts. Each block is large and guarded ranges are
 * taken from its middle, so the pages under a range hold nothing but the test's own bytes
 * (apart from the neighbours a test places there on purpose).
 */
export const BLOCK = 1 << 20;
/** Offset of the first test page inside a block. */
export const PAGE0 = 65536;

export interface Target {
  /** The guarded view, of the memory kind's own type. */
  view: Uint8Array | Float64Array;
  /** The same bytes as a Uint8Array. */
  bytes: Uint8Array;
  /** Element count of view. */
  n: number;
  /** The value an element reads as when every byte of it is `b`. */
  filled(b: number): number;
  /** A distinct value to write into element i. */
  sample(i: number): number;
}

export interface Memory {
  kind: string;
  /** The whole block as bytes. */
  bytes: Uint8Array;
  /** A view of `len` bytes at PAGE0 + off from a page boundary (off and len multiples of 8 for Float64Array memory). */
  at(off: number, len: number): Target;
}

function u8Target(bytes: Uint8Array, view: Uint8Array): Target {
  return { view, bytes, n: view.length, filled: b => b, sample: i => (i * 7 + 3) & 255 };
}

function u8Memory(kind: string, bytes: Uint8Array, wrap: (b: Uint8Array) => Uint8Array = b => b): Memory {
  return {
    kind,
    bytes,
    at(off, len) {
      const v = new Uint8Array(bytes.buffer, bytes.byteOffset + PAGE0 + off, len);
      return u8Target(v, wrap(v));
    },
  };
}

export function f64Filled(b: number): number { return new Float64Array(new Uint8Array(8).fill(b).buffer)[0]; }

/**
 * The offset inside `bytes` of its first page boundary. JavaScript never sees addresses,
 * and plain memory comes from malloc at any 16-byte alignment, so this probes: with one
 * byte at offset 0 guarded (send direction, so the page turns read-only), a write to a
 * byte on the same page is a collateral fault and one on the next page is not. The
 * probing writes store each byte's own value back; the guard engine must be in block or
 * strict mode. Binary search: 12 probes.
 */
export function firstPageBoundary(bytes: Uint8Array): number {
  const id = addon.guardAcquire(bytes.subarray(0, 1), 'out');
  if (id < 0) throw new Error('firstPageBoundary needs the guard engine in block or strict mode');
  try {
    const samePage = (y: number) => {
      const before = addon.guardStats().faultsCollateral;
      bytes[y] = bytes[y];  // eslint-disable-line no-self-assign
      return addon.guardStats().faultsCollateral > before;
    };
    let lo = 0, hi = 4096;  // samePage(y) holds for y < boundary <= 4096
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (samePage(mid)) lo = mid; else hi = mid;
    }
    return hi % 4096;
  } finally {
    addon.guardRelease(id);
  }
}

export function memories(): Memory[] {
  const arena = new Uint8Array(addon.alloc(BLOCK));
  const plain = new Uint8Array(new ArrayBuffer(BLOCK));
  const buf = Buffer.alloc(BLOCK);
  const f64 = new Float64Array(BLOCK / 8);
  const f64Base = PAGE0 + firstPageBoundary(new Uint8Array(f64.buffer));
  return [
    u8Memory('arena (alloc)', arena),
    u8Memory('plain ArrayBuffer', plain.subarray(firstPageBoundary(plain))),
    u8Memory('Buffer.alloc', buf.subarray(firstPageBoundary(buf)),
             v => Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
    {
      kind: 'plain Float64Array',
      bytes: new Uint8Array(f64.buffer),
      at(off, len) {
        if (off % 8 || len % 8) throw new Error('Float64Array memory needs 8-byte multiples');
        const view = new Float64Array(f64.buffer, f64Base + off, len / 8);
        return { view, bytes: new Uint8Array(f64.buffer, f64Base + off, len), n: view.length, filled: f64Filled, sample: i => i + 0.5 };
      },
    },
  ];
}

/** A plain (malloc'ed) block of `size` bytes, starting at a page boundary. */
export function plainPages(size: number): Uint8Array {
  const raw = new Uint8Array(new ArrayBuffer(size + 4096));
  const at = firstPageBoundary(raw);
  return raw.subarray(at, at + size);
}

export interface FixtureResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs test/fixtures/guard/<name>.ts in a child Node process (tsx) and collects its exit. */
export function runFixture(name: string, args: string[] = [], opts: { nodeArgs?: string[]; env?: Record<string, string>; timeoutMs?: number } = {}): FixtureResult {
  const file = join(repoRoot, 'test', 'fixtures', 'guard', `${name}.ts`);
  const r = spawnSync(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', file, ...args], {
    cwd: repoRoot,
    env: { ...envBeforeLoad, ...(opts.env ?? {}) },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 << 20,
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', timedOut };
}

/** Lines of /proc/self/maps naming arena blocks. */
export function arenaMappings(): { lo: bigint; hi: bigint; perms: string }[] {
  const text = readFileSync('/proc/self/maps', 'utf8');
  return text.split('\n').filter(l => l.includes('zcmpi-block')).map(l => {
    const [span, perms] = l.split(/\s+/);
    const [lo, hi] = span.split('-').map(h => BigInt('0x' + h));
    return { lo, hi, perms };
  });
}

/**
 * Runs this test file again in a child with ZCMPI_GUARD_PKEYS=0 (the mechanism is fixed at
 * a process's first guardInit) and requires every check there to pass; does nothing inside
 * that child.
 */
export function rerunWithoutProtectionKeys(t: Test, fileUrl: string): void {
  if (process.env.ZC_NO_PKEYS_CHILD) return;
  t.test('the same without protection keys (ZCMPI_GUARD_PKEYS=0)', async t => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(fileUrl)],
      { env: { ...process.env, ZCMPI_GUARD_PKEYS: '0', ZC_NO_PKEYS_CHILD: '1', TAP_COLOR: '0' }, encoding: 'utf8', timeout: 120000 });
    t.match(r.stdout, /# \{ total: \d+, pass: \d+ \}/, 'the child ran every check');
    const failed = /^\s*not ok/m.test(r.stdout);
    t.notOk(failed, `no check failed${failed ? `\n${r.stdout}\n${r.stderr}` : ''}`);
    t.equal(r.status, 0, 'the child exits 0');
  });
}
