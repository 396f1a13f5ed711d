// Loads the test addon for the guard-engine tests and exports it typed: build/Release/
// zcmpi_test.node, the production addon's bindings plus the test-only helpers of test/addon/
// (the production addon, zcmpi.node, has none of them). ZCMPI_ADDON (a path to a .node
// file) overrides it, so the guard tests can run against a private build (a sanitizer build
// of the test addon).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { applyUcxDefaults } from '../../runtime/ucx-env.js';
import type { NativeGuardStats } from '../../runtime/native.js';

export type GuardMode = 'block' | 'strict' | 'off';
export type GuardDirection = 'in' | 'out';

export interface GuardRequestInfo {
  peer?: number;
  tag?: number;
  requestId?: number;
  stack?: string;
}

/** The guard engine's counters, as the runtime declares them. */
export type GuardStats = NativeGuardStats;

export interface MemoryStats {
  blocks: number;
  bytesMapped: number;
  hugeAlignedBlocks: number;
}

export type View = ArrayBufferView | ArrayBuffer;

export interface GuardAddon {
  guardInit(mode: GuardMode): void;
  /** Protects the view's exact bytes; returns the guard id, -1 when mode is off or the view empty. */
  guardAcquire(view: View, dir: GuardDirection, info?: GuardRequestInfo): number;
  guardRelease(id: number): void;
  guardIsActive(id: number): boolean;
  /** A native thread (a stand-in device) releases the guard after `ms`. */
  guardReleaseAfter(id: number, ms: number): void;
  /** A native thread writes `byteValue` to every byte of the view via the device view (or /proc/self/mem) after `ms`, then releases. */
  deviceFillAndRelease(view: View, byteValue: number, id: number, ms: number): void;
  guardReleaseAll(): void;
  guardStats(): GuardStats;
  /** How guarded pages are protected: 'protection keys …' or 'mprotect (why)'; fixed at the first guardInit. */
  guardMechanism(): string;
  guardSetLongWaitMs(ms: number): void;
  guardSetRank(rank: number): void;
  /** memset from C++ on the JS thread. */
  nativeFill(view: View, value: number): void;
  /** Byte sum from C++ on the JS thread. */
  nativeSum(view: View): number;
  /** A non-JS native thread reads (and, when write, first memsets) the view; joined. Returns the byte sum. */
  threadTouch(view: View, write: boolean, value?: number): number;
  /** fork(); the child memsets the view to 0x5a and exits 0 when that worked. Returns the child's status (128+signal when killed). */
  forkChildWrites(view: View): number;
  /** Gives `threads` libuv thread-pool workers an alternate signal stack; one promise per job. */
  prepareThreadPool(threads: number): Promise<void>[];
  /** Writes through a bad pointer (a genuine crash). */
  segfaultForTest(address: number): void;
  /** Address of the view's first byte. */
  viewAddress(view: View): bigint;
  /** The next `skip` protection changes of the process go through, the `count` after them fail with `errno` (test seam). */
  injectProtectFailures(skip: number, count: number, errno: number): void;
  /** Protection changes seen and failed since the last injectProtectFailures. */
  protectFailureCounts(): { seen: number; failed: number };
  clearProtectFailures(): void;
  /** Alternating page protections in a fresh region until the kernel refuses a split (vm.max_map_count). */
  fillMapCount(maxPages: number): { mappings: number; errno: number };
  releaseMapCount(): void;
  /** Registered, page-aligned, double-mapped memory. */
  alloc(bytes: number): ArrayBuffer;
  hasDeviceView(view: View): boolean;
  memoryStats(): MemoryStats;
}

export const repoRoot = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
/** The test addon; a runtime fixture that needs its helpers gets it as ZCMPI_ADDON. */
export const testAddonPath = join(repoRoot, 'build', 'Release', 'zcmpi_test.node');
/** The addon users load (the runtime's default). */
export const productionAddonPath = join(repoRoot, 'build', 'Release', 'zcmpi.node');
export const addonPath = process.env.ZCMPI_ADDON || testAddonPath;

/**
 * The environment before the addon was loaded. Loading changes this process's environment
 * (applyUcxDefaults, as the runtime does), so child processes that must see what a user's
 * program sees (the chaining tests) are started with this copy; the fixtures load the
 * addon through this module, so they apply the same defaults themselves.
 */
export const envBeforeLoad: NodeJS.ProcessEnv = { ...process.env };

const require = createRequire(import.meta.url);
applyUcxDefaults();  // as the runtime does before it loads the addon
export const addon: GuardAddon = require(addonPath) as GuardAddon;
export default addon;
