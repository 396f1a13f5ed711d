// ZCMPI_STATS=1: each rank prints its statistics on stderr once, when the process exits
// (after finalize or without it), the way mimalloc prints its own at exit. One line per
// counter, prefixed with the rank so the launcher's merged output stays readable:
//   zcmpi[1] stats: guards acquired      128

import { writeSync } from 'node:fs';
import type { NativeAddon, NativeGuardStats } from './native.js';

const ROWS: ReadonlyArray<[keyof NativeGuardStats, string]> = [
  ['guardsAcquired', 'guards acquired'],
  ['activeGuards', 'guards still active'],
  ['faultsWaited', 'faults that waited'],
  ['faultsLifted', 'faults after release'],
  ['faultsCollateral', 'collateral faults'],
  ['stringBytesEmulated', 'string bytes emulated'],
  ['strictReports', 'strict reports'],
  ['mprotectCalls', 'mprotect calls'],
  ['futexCallsRedone', 'futex waits redone'],
  ['signalMaskCallsRedone', 'signal masks redone'],
];

export function formatStats(rank: number, transport: string, s: NativeGuardStats, transportRows: ReadonlyArray<[string, number]> = []): string {
  const head = `zcmpi[${rank}] stats: transport ${transport}\n`;
  const rows: Array<[string, number]> = [...ROWS.map(([key, label]): [string, number] => [label, s[key]]), ...transportRows];
  return head + rows.map(([label, value]) => `zcmpi[${rank}] stats: ${label.padEnd(22)} ${String(value).padStart(12)}\n`).join('');
}

let armed = false;

export function armStatsAtExit(native: NativeAddon, rank: number, transport: string): void {
  if (armed) return;
  armed = true;
  process.on('exit', () => {
    try {
      writeSync(2, formatStats(rank, transport, native.guardStats(), native.commTransportStats()));
    } catch { /* stderr closed: nothing to report to */ }
  });
}
