// The runs of npm run bench and what the report takes from them: per benchmark, ranks and
// system, the median over the repeated runs of every column, size by size.

import type { TestKind, TestName } from '../osu/catalog.js';
import { TESTS } from '../osu/catalog.js';
import type { OsuTable } from '../osu/parse-output.js';
import type { PlanEntry } from './plan.js';
import type { SystemName } from './systems.js';

export interface RunRecord {
  test: TestName;
  np: number;
  system: SystemName;
  rep: number;
  args: string[];
  seconds: number;
  table?: OsuTable;
  /** Why the run produced no table (its last stderr lines). */
  error?: string;
  /** The 1-minute load average just before the job started. */
  load?: number;
}

/** One system's figures for one plan entry: size -> column -> median over runs. */
export interface Series {
  system: SystemName;
  runs: number;
  failed: number;
  rows: Map<number, Record<string, number>>;
  /** The 1-minute load average at the start of each run (runs of older results have none). */
  loads: number[];
  /** The first failure's message, when every run failed. */
  error?: string;
}

export const entryKey = (e: { test: TestName; np: number }) => `${e.test}-${e.np}`;

/** The column a benchmark is judged by (lower is better, except bandwidth). */
export function primaryColumn(kind: TestKind): string {
  if (kind === 'bandwidth') return 'Bandwidth (MB/s)';
  if (kind === 'nonblocking') return 'Pure Comm.(us)';
  return 'Avg Latency(us)';
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function aggregate(entry: PlanEntry, system: SystemName, records: RunRecord[]): Series {
  const mine = records.filter(r => r.test === entry.test && r.np === entry.np && r.system === system);
  const tables = mine.flatMap(r => (r.table ? [r.table] : []));
  const barrier = TESTS[entry.test].kind === 'barrier';
  const bySize = new Map<number, Record<string, number[]>>();
  for (const t of tables) {
    for (const row of t.rows) {
      const size = barrier ? 0 : row.Size;
      const acc = bySize.get(size) ?? {};
      for (const [col, v] of Object.entries(row)) (acc[col] ??= []).push(v);
      bySize.set(size, acc);
    }
  }
  const rows = new Map<number, Record<string, number>>();
  for (const [size, cols] of [...bySize].sort((a, b) => a[0] - b[0])) {
    rows.set(size, Object.fromEntries(Object.entries(cols).map(([c, vs]) => [c, median(vs)])));
  }
  const failures = mine.filter(r => !r.table);
  return {
    system, runs: mine.length, failed: failures.length, rows,
    loads: mine.flatMap(r => (r.load === undefined ? [] : [r.load])),
    ...(tables.length === 0 && failures[0]?.error ? { error: failures[0].error } : {}),
  };
}
