// Three pages of a comm.alloc block with nothing else on them, for tests of the guard
// engine's protection changes: their protection as the kernel reports it, and a touch of
// every page that must not fault.
import type { Test } from 'tap';
import { addon, delta, stats } from './guard.js';
import { PAGE, protectionAt, type PageProtection } from './page-protection.js';

export interface ThreePages {
  /** The three pages' bytes. */
  view: Uint8Array;
  /** Page i's protection now. */
  page(i: number): PageProtection;
  /** Their protections before any guard. */
  before: PageProtection[];
  /** Writes every page and checks that not one access faulted. */
  touchAll(t: Test): void;
}

/** Call after addon.guardInit. */
export function threeTestPages(): ThreePages {
  const block = new Uint8Array(addon.alloc(1 << 20));
  const P = 65536;  // at P, P + 4096, P + 8192
  const base = addon.viewAddress(block) + BigInt(P);
  const page = (i: number) => protectionAt(base + BigInt(i * PAGE));
  const view = block.subarray(P, P + 3 * PAGE);
  return {
    view, page, before: [0, 1, 2].map(page),
    touchAll(t: Test) {
      const s0 = stats();
      for (let i = 0; i < 3 * PAGE; i += 512) view[i] = (view[i] + 1) & 255;
      const d = delta(s0);
      t.equal(d.faultsCollateral + d.faultsWaited + d.faultsLifted, 0, 'the pages are touched without a single fault');
    },
  };
}
