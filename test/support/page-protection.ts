// What the kernel says a page's protection is right now, from /proc/self/smaps: the
// permissions of the mapping holding it and, with protection keys, its key. Reading it
// never touches the page, so it can check a page that would fault.
import { readFileSync } from 'node:fs';

/** Page size the engine protects by. */
export const PAGE = 4096;

export interface PageProtection { perms: string; pkey: number }

/** Protection of the mapping that holds `address` (addon.viewAddress gives a view's). */
export function protectionAt(address: bigint): PageProtection {
  const text = readFileSync('/proc/self/smaps', 'utf8');
  let current: PageProtection | null = null;
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) /.exec(line);
    if (m) {
      const lo = BigInt(`0x${m[1]}`), hi = BigInt(`0x${m[2]}`);
      if (current) return current;
      if (address >= lo && address < hi) current = { perms: m[3], pkey: 0 };
      continue;
    }
    const k = /^ProtectionKey:\s+(\d+)/.exec(line);
    if (k && current) current.pkey = Number(k[1]);
  }
  if (current) return current;
  throw new Error(`no mapping holds ${address.toString(16)}`);
}
