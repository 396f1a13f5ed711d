// What this machine's CPU and kernel offer the guard engine, read without loading an addon
// (a test's own process may run ranks or native programs that load theirs).
import { readFileSync } from 'node:fs';

/**
 * Whether this machine can give guards protection keys at all: the CPU has PKU and the kernel
 * enabled it (OSPKE), as /proc/cpuinfo says. Tests of what only keys promise (another thread
 * never sees a page opened for one thread's step) skip without them, saying so, and force
 * keys on (ZCMPI_GUARD_PKEYS=1) where the machine has them, so they never skip there.
 */
export function machineHasProtectionKeys(): boolean {
  try {
    const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    return /\bpku\b/.test(flags) && /\bospke\b/.test(flags);
  } catch {
    return false;
  }
}

/** The skip reason of a test that needs protection keys on a machine without them. */
export const NO_KEYS_SKIP = 'this machine has no protection keys (no pku/ospke in /proc/cpuinfo): without them a '
  + 'collateral single step opens the page to every thread for one instruction, the risk docs/design.md states '
  + '("Without protection keys")';
