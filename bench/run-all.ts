// npm run bench: the standard set of OSU benchmarks (bench/report/plan.ts) for zcmpi, Open
// MPI's C and mpi4py side by side, 2 and 4 ranks, interleaved, median of --reps runs; writes
// docs/benchmarks.md, its plots (docs/benchmarks/*.png) and the raw runs
// (docs/benchmarks/results.json).
//   npm run bench -- [--reps N] [--quick] [--plan standard|targets] [--only TEST,...] [--ranks 2,4]
//                    [--systems zcmpi,ompi,mpi4py] [--out FILE] [--timeout S]
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_NAMES, TESTS, type TestName } from './osu/catalog.js';
import { parseOsuOutput } from './osu/parse-output.js';
import { finish, machineInfo, type MachineInfo } from './report/machine.js';
import { extractNotes, renderReport } from './report/markdown.js';
import { quickArgs, STANDARD_PLAN, TARGETS_PLAN, type PlanEntry } from './report/plan.js';
import { barrierPlot, overlapPlot, sizePlot, type Point } from './report/plots.js';
import { aggregate, entryKey, primaryColumn, type RunRecord, type Series } from './report/results.js';
import {
  buildC, command, ensureComparisonPackages, mpi4pyWorks, runJob, SYSTEM_LABELS, SYSTEM_NAMES, type SystemName,
} from './report/systems.js';
import { Communicator } from '../runtime/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (m: string) => { process.stderr.write(`bench: ${m}\n`); };

function list<T extends string>(allowed: readonly T[], what: string) {
  return (v: string): T[] => {
    const items = v.split(',').map(s => s.trim()).filter(Boolean);
    for (const i of items) if (!allowed.includes(i as T)) throw new InvalidArgumentError(`expected ${what} from ${allowed.join(', ')}; '${i}' is not one.`);
    return items as T[];
  };
}
const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
};

const cli = new Command('npm run bench --')
  .description('OSU benchmarks: zcmpi vs Open MPI C vs mpi4py; writes docs/benchmarks.md and its plots')
  .addOption(new Option('--reps <N>', 'runs per benchmark and system (figures are their median)').argParser(positive).default(3))
  .addOption(new Option('--quick', 'a tenth of OSU\'s iterations: a smoke run of a few minutes'))
  .addOption(new Option('--plan <plan>', 'standard: the whole suite; targets: only what issue 9\'s targets are judged by').choices(['standard', 'targets']).default('standard'))
  .addOption(new Option('--only <tests>', 'comma-separated benchmarks of the standard set').argParser(list(TEST_NAMES, 'benchmarks')))
  .addOption(new Option('--ranks <list>', 'comma-separated rank counts of the standard set (2, 4)').argParser(list(['2', '4'] as const, 'rank counts')))
  .addOption(new Option('--systems <list>', 'comma-separated systems').argParser(list(SYSTEM_NAMES, 'systems')))
  .addOption(new Option('--out <file>', 'the report; plots and results.json go to <file without .md>/').default(join(root, 'docs/benchmarks.md')))
  .addOption(new Option('--timeout <S>', 'seconds one benchmark job may take').argParser(positive).default(900))
  .addOption(new Option('--from <results.json>', 'run nothing: regenerate the report and plots from an earlier run\'s results.json'))
  .exitOverride()
  .configureOutput({ writeErr: () => { /* one line below */ } });
try {
  cli.parse(process.argv.slice(2), { from: 'user' });
} catch (err) {
  if (err instanceof CommanderError && err.exitCode === 0) process.exit(0);
  log(`error: ${(err as Error).message.replace(/^error:\s*/, '')}`);
  process.exit(1);
}
const opts = cli.opts<{ reps: number; quick?: boolean; plan: 'standard' | 'targets'; only?: TestName[]; ranks?: string[]; systems?: SystemName[]; out: string; timeout: number; from?: string }>();

interface Saved {
  machine: MachineInfo; plan: PlanEntry[]; systems: SystemName[]; reps: number; quick: boolean; records: RunRecord[];
  unavailable?: Partial<Record<SystemName, string>>; missingCollectives?: string[]; minutes?: number; command?: string;
}

const outDirOf = (out: string) => out.replace(/\.md$/, '');
function commandLine(): string {
  const argv = process.argv.slice(2);
  return `npm run bench${argv.length ? ' -- ' + argv.join(' ') : ''}`;
}

async function runPlan(): Promise<Saved> {
  // The plan, and the systems that can run it.
  const plan: PlanEntry[] = (opts.plan === 'targets' ? TARGETS_PLAN : STANDARD_PLAN)
    .filter(e => !opts.only || opts.only.includes(e.test))
    .filter(e => !opts.ranks || opts.ranks.includes(String(e.np)))
    .map(e => (opts.quick ? { ...e, args: [...e.args, ...quickArgs(e.test)] } : e));
  if (plan.length === 0) {
    log('error: --only/--ranks leave nothing of the standard set to run');
    process.exit(1);
  }
  const unavailable: Partial<Record<SystemName, string>> = {};
  let systems = opts.systems ?? SYSTEM_NAMES;
  if (systems.some(s => s !== 'zcmpi')) {
    const missing = ensureComparisonPackages(log);
    if (systems.includes('ompi') && !buildC(root, [...new Set(plan.map(e => e.test))], log)) unavailable.ompi = `the C programs did not build (${missing.join(', ') || 'mpicc failed'})`;
    if (systems.includes('mpi4py') && !mpi4pyWorks()) unavailable.mpi4py = `/usr/bin/python3 cannot import mpi4py and numpy (${missing.join(', ') || 'import failed'})`;
  }
  systems = systems.filter(s => !unavailable[s]);
  const missingCollectives = [...new Set(plan.map(e => TESTS[e.test].method).filter((m): m is string => m !== undefined))]
    .filter(m => typeof (Communicator.prototype as unknown as Record<string, unknown>)[m] !== 'function');

  // Run: round after round, every entry, every system.
  const machine = machineInfo(root);
  const records: RunRecord[] = [];
  const started = performance.now();
  const total = opts.reps * plan.length * systems.length;
  let done = 0;
  const hopeless = new Set<string>(); // entry+system that cannot work (a collective the runtime lacks)
  for (let rep = 1; rep <= opts.reps; rep++) {
    for (const e of plan) {
      for (const system of systems) {
        done++;
        const key = `${entryKey(e)}/${system}`;
        if (hopeless.has(key)) continue;
        const elapsed = (performance.now() - started) / 1000;
        const eta = done > 1 ? ` (about ${Math.ceil((elapsed / (done - 1)) * (total - done + 1) / 60)} min left)` : '';
        log(`[${done}/${total}] round ${rep}: ${e.test} on ${e.np} ranks, ${SYSTEM_LABELS[system]}${eta}`);
        const load = Math.round(loadavg()[0] * 100) / 100;
        const r = await runJob(root, command(root, system, e.test, e.np, e.args, opts.timeout), opts.timeout);
        const rec: RunRecord = { test: e.test, np: e.np, system, rep, args: e.args, seconds: Math.round(r.seconds * 10) / 10, load };
        try {
          if (r.code !== 0) throw new Error(`exit status ${r.code}`);
          rec.table = parseOsuOutput(r.stdout);
        } catch (err) {
          const tail = r.stderr.split('\n').filter(l => l.trim() && !/^-+$/.test(l)).slice(-4).join(' / ');
          rec.error = `${(err as Error).message.split('\n')[0]}: ${tail}`;
          log(`  failed: ${rec.error}`);
          if (/does not have|needs exactly|needs at least/.test(r.stderr)) hopeless.add(key);
        }
        records.push(rec);
        // After every job, so a run cut short can still be reported (--from).
        mkdirSync(outDirOf(opts.out), { recursive: true });
        writeFileSync(join(outDirOf(opts.out), 'results.json'), JSON.stringify({
          machine, plan, systems, reps: opts.reps, quick: opts.quick === true, records, unavailable, missingCollectives,
          minutes: (performance.now() - started) / 60000, command: commandLine(),
        }, null, 1) + '\n');
      }
    }
  }
  finish(machine);


  return {
    machine, plan, systems, reps: opts.reps, quick: opts.quick === true, records, unavailable, missingCollectives,
    minutes: (performance.now() - started) / 60000, command: commandLine(),
  };
}

const saved: Saved = opts.from ? JSON.parse(readFileSync(opts.from, 'utf8')) as Saved : await runPlan();
const { machine, plan, systems, records } = saved;
// results.json of a runner before these fields existed: derive them.
saved.missingCollectives ??= [...new Set(plan.map(e => TESTS[e.test].method).filter((m): m is string => m !== undefined))]
  .filter(m => typeof (Communicator.prototype as unknown as Record<string, unknown>)[m] !== 'function');
saved.minutes ??= records.reduce((sum, r) => sum + r.seconds, 0) / 60;
saved.command ??= `npm run bench -- ${saved.quick ? '--quick ' : ''}--reps ${saved.reps} --only ${[...new Set(plan.map(e => e.test))].join(',')}`;

// Report.
const outDir = outDirOf(opts.out);
mkdirSync(outDir, { recursive: true });
if (!opts.from) writeFileSync(join(outDir, 'results.json'), JSON.stringify(saved, null, 1) + '\n');
const series = new Map<string, Series[]>(plan.map(e => [entryKey(e), systems.map(s => aggregate(e, s, records))]));
const plots = new Map<string, string[]>();
const rel = (f: string) => relative(dirname(opts.out), f);
for (const e of plan) {
  const test = TESTS[e.test];
  if (test.kind === 'barrier') continue;
  const ss = series.get(entryKey(e)) ?? [];
  const col = primaryColumn(test.kind);
  const points = (column: string): Point[] => ss.flatMap(s => [...s.rows].map(([size, row]) => ({ system: s.system, size, value: row[column] })))
    .filter(p => p.value !== undefined);
  const file = join(outDir, `${e.test}-${e.np}.png`);
  const y = test.kind === 'bandwidth' ? 'bandwidth (MB/s, higher is better)' : 'latency (us, lower is better)';
  await sizePlot(file, `${test.title.replace(/ Test$/, '')}, ${e.np} ranks${test.kind === 'nonblocking' ? ' (pure communication)' : ''}`, y, points(col), systems);
  const files = [rel(file)];
  if (test.kind === 'nonblocking') {
    const f2 = join(outDir, `${e.test}-${e.np}-overlap.png`);
    await overlapPlot(f2, `${test.title.replace(/ Latency Test$/, '')} overlap, ${e.np} ranks (higher is better)`, points('Overlap(%)'), systems);
    files.push(rel(f2));
  }
  plots.set(entryKey(e), files);
}
const barriers = plan.filter(e => e.test === 'barrier');
if (barriers.length > 0) {
  const file = join(outDir, 'barrier.png');
  const pts = barriers.flatMap(e => (series.get(entryKey(e)) ?? []).flatMap(s => {
    const v = s.rows.get(0)?.['Avg Latency(us)'];
    return v === undefined ? [] : [{ system: s.system, np: e.np, value: v }];
  }));
  await barrierPlot(file, pts, systems);
  plots.set(entryKey(barriers[0]), [rel(file)]);
}
const previous = existsSync(opts.out) ? readFileSync(opts.out, 'utf8') : undefined;
writeFileSync(opts.out, renderReport({
  machine, plan, systems, unavailable: saved.unavailable ?? {}, series, reps: saved.reps, quick: saved.quick,
  minutes: saved.minutes ?? 0, missingCollectives: saved.missingCollectives ?? [], plots, notes: extractNotes(previous),
  command: saved.command ?? 'npm run bench',
}));
log(`wrote ${relative(root, opts.out)} and ${relative(root, outDir)}/*.png${opts.from ? '' : ' and results.json'}`);
