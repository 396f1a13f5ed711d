// docs/benchmarks.md from one npm run bench: how it was measured (machine, versions,
// iterations and warm-up of every figure), the issue's headline ratios, then every table
// with its plot. A hand-written section between the notes markers survives regeneration.

import { DATATYPES, TESTS, type TestInfo } from '../osu/catalog.js';
import { DEFAULT_JIT_WARMUP } from '../osu/options.js';
import type { MachineInfo } from './machine.js';
import type { PlanEntry } from './plan.js';
import { entryKey, primaryColumn, type Series } from './results.js';
import { SYSTEM_LABELS, type SystemName } from './systems.js';

export const NOTES_BEGIN = '<!-- notes:begin (kept by npm run bench) -->';
export const NOTES_END = '<!-- notes:end -->';

export interface Report {
  machine: MachineInfo;
  plan: PlanEntry[];
  systems: SystemName[];
  /** Why a system was left out, if one was. */
  unavailable: Partial<Record<SystemName, string>>;
  series: Map<string, Series[]>;
  reps: number;
  quick: boolean;
  minutes: number;
  /** Collective methods the zcmpi runtime lacked at this run. */
  missingCollectives: string[];
  /** entry key -> plot file (relative to docs/) */
  plots: Map<string, string[]>;
  notes: string;
  command: string;
}

export function sizeLabel(b: number): string {
  if (b >= 1 << 20) return `${b / (1 << 20)} MiB`;
  if (b >= 1024) return `${b / 1024} KiB`;
  return `${b} B`;
}

const num = (v: number | undefined) => (v === undefined ? '-' : v >= 1000 ? v.toFixed(0) : v >= 100 ? v.toFixed(1) : v.toFixed(2));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}`);

function valueOf(series: Series[] | undefined, system: SystemName, size: number, column: string): number | undefined {
  return series?.find(s => s.system === system)?.rows.get(size)?.[column];
}

/** Argument value of a flag in a plan entry, if given. */
function arg(e: PlanEntry, flag: string): string | undefined {
  const i = e.args.lastIndexOf(flag);
  return i >= 0 ? e.args[i + 1] : undefined;
}

function warmupText(e: PlanEntry, test: TestInfo): string {
  const it = arg(e, '-i'), sk = arg(e, '-x');
  const jit = arg(e, '--jit-warmup') ?? String(DEFAULT_JIT_WARMUP);
  const c = test.counts;
  const small = `${it ?? c.iterations} iterations after ${sk ?? c.skip} warm-up`;
  const large = `${it ?? c.iterationsLarge} after ${sk ?? c.skipLarge}`;
  const per = test.kind === 'barrier' ? small : `${small} per size up to 8 KiB, ${large} above`;
  const window = test.kind === 'bandwidth' ? `, windows of ${arg(e, '-W') ?? 64} messages` : '';
  return `${per}${window}; ${jit} unmeasured iterations of the first size before the first row (--jit-warmup)`;
}

function table(e: PlanEntry, r: Report): string[] {
  const test = TESTS[e.test];
  const series = r.series.get(entryKey(e));
  const col = primaryColumn(test.kind);
  const others = r.systems.filter(s => s !== 'zcmpi');
  const bw = test.kind === 'bandwidth';
  const out: string[] = [];
  const type = arg(e, '-T');
  out.push(`### ${test.title.replace(/ Test$/, '')}, ${e.np} ranks`, '');
  const facts = [`\`${['osu.ts', e.test, ...e.args].join(' ')}\``];
  if (test.kind !== 'barrier') facts.push(`datatype ${type ? DATATYPES[type as keyof typeof DATATYPES].label : 'MPI_CHAR'}`);
  if (e.note) facts.push(e.note);
  out.push(`${facts.join(', ')}. ${warmupText(e, test)}.`, '');
  for (const s of series ?? []) {
    if (s.error) out.push(`${SYSTEM_LABELS[s.system]}: no result (${s.error.split('\n')[0]}).`, '');
    else if (s.failed > 0) out.push(`${SYSTEM_LABELS[s.system]}: ${s.failed} of ${s.runs} runs failed; medians of the others.`, '');
  }
  const loads = (series ?? []).filter(s => s.loads.length > 0)
    .map(s => `${SYSTEM_LABELS[s.system]} ${s.loads.map(l => l.toFixed(1)).join(', ')}`);
  if (loads.length) out.push(`Load average (1 min) at the start of each run: ${loads.join('; ')}.`, '');
  for (const p of r.plots.get(entryKey(e)) ?? []) out.push(`![${test.title}, ${e.np} ranks](${p})`, '');
  const sizes = [...new Set((series ?? []).flatMap(s => [...s.rows.keys()]))].sort((a, b) => a - b);
  if (test.kind === 'nonblocking') {
    const head = ['size', ...r.systems.flatMap(s => [`${SYSTEM_LABELS[s]} comm (us)`, `${SYSTEM_LABELS[s]} overall (us)`, `${SYSTEM_LABELS[s]} overlap (%)`]),
      ...others.map(o => `zcmpi comm / ${SYSTEM_LABELS[o]}`)];
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---:').join('|')}|`);
    for (const size of sizes) {
      const cells = [sizeLabel(size), ...r.systems.flatMap(s => ['Pure Comm.(us)', 'Overall(us)', 'Overlap(%)'].map(c => num(valueOf(series, s, size, c)))),
        ...others.map(o => ratio(valueOf(series, 'zcmpi', size, col), valueOf(series, o, size, col)))];
      out.push(`| ${cells.join(' | ')} |`);
    }
  } else {
    const unit = bw ? 'MB/s' : 'us';
    const head = [test.kind === 'barrier' ? '' : 'size', ...r.systems.map(s => `${SYSTEM_LABELS[s]} (${unit})`),
      ...others.map(o => `zcmpi ${bw ? 'bandwidth' : 'time'} / ${SYSTEM_LABELS[o]}`)];
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---:').join('|')}|`);
    for (const size of sizes) {
      const cells = [test.kind === 'barrier' ? 'barrier' : sizeLabel(size), ...r.systems.map(s => num(valueOf(series, s, size, col))),
        ...others.map(o => ratio(valueOf(series, 'zcmpi', size, col), valueOf(series, o, size, col)))];
      out.push(`| ${cells.join(' | ')} |`);
    }
  }
  out.push('');
  return out;
}

function headline(r: Report): string[] {
  const out = ['## Headline figures (issue 9\'s targets)', '',
    'Ratios are zcmpi\'s time divided by the other system\'s (below 1: zcmpi is faster), medians of the runs, from this one run of `npm run bench`.', ''];
  const get = (test: string, np: number, sys: SystemName, size: number, col = 'Avg Latency(us)') =>
    valueOf(r.series.get(`${test}-${np}`), sys, size, col);
  const MiB = 1 << 20;
  const rows: string[][] = [];
  for (const size of [MiB, 4 * MiB]) {
    const z = get('allreduce', 2, 'zcmpi', size), o = get('allreduce', 2, 'ompi', size);
    const verdict = z === undefined || o === undefined ? 'not measured' : z / o <= 1 ? 'met (goal: equal or faster, met too)' : z / o <= 1.5 ? 'met (goal of equal or faster: not met)' : 'MISSED';
    rows.push([`allreduce float64 sum, 2 ranks, ${sizeLabel(size)}: zcmpi / Open MPI <= 1.5`, `${num(z)} vs ${num(o)} us: ${ratio(z, o)}`, verdict]);
  }
  for (const test of ['bcast', 'allgather', 'alltoall']) {
    for (const size of [1024, 64 * 1024, MiB]) {
      const z = get(test, 4, 'zcmpi', size), o = get(test, 4, 'ompi', size), p = get(test, 4, 'mpi4py', size);
      rows.push([`${test}, 4 ranks, ${sizeLabel(size)}: zcmpi / Open MPI, zcmpi / mpi4py`, `${num(z)} us: ${ratio(z, o)}, ${ratio(z, p)}`, 'stated']);
    }
  }
  for (const np of [2, 4]) {
    const ov = get('iallreduce', np, 'zcmpi', MiB, 'Overlap(%)');
    const ovo = get('iallreduce', np, 'ompi', MiB, 'Overlap(%)');
    const verdict = ov === undefined ? 'not measured' : ov >= 80 ? 'met' : 'MISSED';
    rows.push([`iallreduce float64, ${np} ranks, 1 MiB: overlap >= 80%`, `${num(ov)}% (Open MPI C: ${num(ovo)}%)`, np === 2 ? verdict : 'stated']);
  }
  out.push('| target | result | |', '|---|---|---|', ...rows.map(c => `| ${c.join(' | ')} |`), '');
  return out;
}

export function renderReport(r: Report): string {
  const m = r.machine;
  const systemsText = r.systems.map(s => SYSTEM_LABELS[s]).join(', ');
  const lines: string[] = [
    '# Benchmarks',
    '',
    `Generated by \`${r.command}\` (bench/run-all.ts) on ${m.date}, in ${r.minutes.toFixed(1)} minutes. The tables and plots`,
    'are regenerated on every run; the notes section between its markers is kept. How to run one',
    'benchmark yourself: see "The suite" at the end.',
    '',
    '## How these figures were measured',
    '',
    `- Machine: ${m.cpu}, ${m.cpus} vCPUs, ${m.memoryGiB} GiB, Linux ${m.kernel}, ${m.os}. Load average (1, 5, 15 min) ` +
      `${m.loadBefore.join(', ')} before and ${(m.loadAfter ?? []).join(', ')} after: other jobs shared the machine, so compare ` +
      'figures of one run (this page), not across runs.',
    `- Software: Node.js ${m.node}, zcmpi ${m.zcmpi} (guard block, transport auto = UCX ${m.ucx}, buffers from ` +
      `\`comm.alloc\`), Open MPI ${m.openmpi} (its default component selection, \`mpirun --oversubscribe\`), Python ${m.python} ` +
      `with mpi4py ${m.mpi4py} and numpy ${m.numpy} (numpy buffers, upper-case buffer methods).`,
    `- Systems: ${systemsText}.${Object.entries(r.unavailable).map(([s, why]) => ` ${SYSTEM_LABELS[s as SystemName]} left out: ${why}.`).join('')}`,
    '- The same benchmark code path in each: `bench/osu.ts` (zcmpi), `bench/c/osu_<test>.c` (Open MPI), `bench/py/osu.py`' +
      ' (mpi4py), with the same command line, OSU 7.4\'s loops and formulas, and OSU\'s output.',
    r.reps > 1
      ? `- Every benchmark ran ${r.reps} times per system and rank count, interleaved (all systems for one benchmark, then the ` +
        'next benchmark, then the next round), so a noisy neighbour hurts all alike. Every figure is the **median** of those runs, ' +
        'size by size (each run\'s figure is itself OSU\'s average over its iterations).'
      : '- Every benchmark ran **once** per system and rank count (`--reps 1`: no median), the systems one after the other ' +
        'for each benchmark; each figure is OSU\'s average over that run\'s iterations.',
    r.quick
      ? '- **Quick mode** (`--quick`): a tenth of OSU\'s iterations and warm-ups, so the figures are rougher than OSU\'s.'
      : '- Iterations and warm-up: OSU 7.4\'s defaults (stated under every table), plus `--jit-warmup`: unmeasured iterations ' +
        'of the first size before the first row, given to all three systems alike (V8 compiles the measuring loop only once it is hot; ' +
        'OSU\'s per-size warm-up of 10-100 iterations is sized for C).',
    `- Rank counts above the CPU count (4 ranks on ${m.cpus} vCPUs) are oversubscribed for every system: those figures measure ` +
      'how each behaves when ranks share CPUs as much as their collectives.',
    r.missingCollectives.length
      ? `- Collectives this zcmpi build did not have yet (their zcmpi columns are empty): ${r.missingCollectives.map(c => `\`comm.${c}\``).join(', ')}.`
      : '- Every collective of the suite was present in this zcmpi build.',
    '',
    ...headline(r),
    '## Notes: where the time goes',
    '',
    NOTES_BEGIN,
    r.notes.trim() || '(none yet)',
    NOTES_END,
    '',
  ];
  const p2p = r.plan.filter(e => ['latency', 'bandwidth'].includes(TESTS[e.test].kind));
  if (p2p.length) lines.push('## Point-to-point', '');
  for (const e of p2p) lines.push(...table(e, r));
  for (const np of [...new Set(r.plan.map(e => e.np))]) {
    const coll = r.plan.filter(e => e.np === np && !p2p.includes(e));
    if (coll.length === 0) continue;
    lines.push(`## Collectives, ${np} ranks`, '');
    for (const e of coll) lines.push(...table(e, r));
  }
  lines.push(
    '## The suite',
    '',
    'Any benchmark alone, with OSU\'s options (`-m [MIN:]MAX`, `-i`, `-x`, `-f`, `-W`, `-T`) and `--json`, `--buffer plain`:',
    '',
    '```sh',
    'zcmpirun -np 2 bench/osu.ts latency                 # from a checkout (node --import tsx launcher/cli.ts ... before a build)',
    'npx zcmpirun -np 2 node_modules/zcmpi/bench/osu.ts latency   # from an installed zcmpi',
    'mpirun -np 4 bench/c/build/osu_allreduce -T mpi_double       # Open MPI C (built by npm run bench)',
    'mpirun -np 4 /usr/bin/python3 bench/py/osu.py bcast          # mpi4py',
    'npm run bench -- --quick --only allreduce,bcast --ranks 2   # a subset of the standard set',
    'npm run bench -- --plan targets --reps 3                    # only what issue 9\'s targets are judged by',
    '```',
    '',
  );
  return lines.join('\n');
}

/** The notes of an earlier docs/benchmarks.md, to carry over. */
export function extractNotes(previous: string | undefined): string {
  if (!previous) return '';
  const a = previous.indexOf(NOTES_BEGIN), b = previous.indexOf(NOTES_END);
  if (a < 0 || b < a) return '';
  const text = previous.slice(a + NOTES_BEGIN.length, b).trim();
  return text === '(none yet)' ? '' : text;
}
