// Fast from the first message? zcmpi next to mpi4py and Open MPI's C, in one invocation,
// every measurement in a fresh 2-rank job, the three implementations interleaved so a noisy
// neighbour hurts all of them alike:
//  - first messages: one-way latency (median and mean of half round trips) of trips 1-100,
//    101-1000, 1001-2000 and the last 2000 of 20000 ("steady"), 8 B and 1 KiB;
//  - the user-style ping-pong: 100 warm-up round trips, then the mean of 2000, 8 B, 1 KiB,
//    1 MiB;
//  - window bandwidth: 64 isend/irecv + waitall + 1-byte ack, 200 windows after 20, 8 B-4 KiB.
// zcmpi's side is bench/first-messages-rank.ts (await comm.send / await comm.recv, comm.alloc
// memory, guard block unless --guard); mpi4py's bench/py/first_messages.py (numpy buffers,
// Send/Recv, /usr/bin/python3); Open MPI's bench/c/first_messages.c (mpicc -O2).
//   node --import tsx bench/first-messages.ts [--reps N] [--guard block|off|strict] [--only first|pingpong|window]
// Each cell is the median over the reps (default 3); ratios are zcmpi / other.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureComparisonPackages } from './report/systems.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const reps = Number(opt('--reps', '3'));
const guard = opt('--guard', 'block');
const only = opt('--only', '');
const env = {
  ...process.env, UCX_WARN_UNUSED_ENV_VARS: 'n', OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
};

type Impl = 'zcmpi' | 'mpi4py' | 'C';
interface Row { mode: string; size: number; stretch?: string; median?: number; mean?: number; oneway?: number; mbps?: number }

function buildC(): string | null {
  const out = join(root, 'bench', 'c', 'build');
  mkdirSync(out, { recursive: true });
  try {
    execFileSync('mpicc', ['-O2', join(root, 'bench', 'c', 'first_messages.c'), '-o', join(out, 'first_messages')], { stdio: 'inherit' });
    return join(out, 'first_messages');
  } catch (e) {
    console.log(`# Open MPI C skipped: mpicc failed (${(e as Error).message}); apt-get install openmpi-bin libopenmpi-dev`);
    return null;
  }
}

// Open MPI and mpi4py from Debian when root (the same packages npm run bench installs).
ensureComparisonPackages(m => console.log(`# ${m}`));
const cBinary = buildC();
const python = '/usr/bin/python3';
const hasMpi4py = existsSync(python) && spawnSync(python, ['-c', 'import mpi4py, numpy'], { env }).status === 0;
if (!hasMpi4py) console.log('# mpi4py skipped: /usr/bin/python3 cannot import mpi4py and numpy (apt-get install python3-mpi4py python3-numpy)');

function command(impl: Impl, argv: string[]): [string, string[]] | null {
  if (impl === 'zcmpi') {
    return [process.execPath, ['--import', 'tsx', 'launcher/cli.ts', '-np', '2', '--guard', guard, 'bench/first-messages-rank.ts', ...argv]];
  }
  if (impl === 'C') return cBinary ? ['mpirun', ['--oversubscribe', '-np', '2', cBinary, ...argv]] : null;
  return hasMpi4py ? ['mpirun', ['--oversubscribe', '-np', '2', python, 'bench/py/first_messages.py', ...argv]] : null;
}

function run(impl: Impl, argv: string[]): Row[] {
  const c = command(impl, argv);
  if (!c) return [];
  const r = spawnSync(c[0], c[1], { cwd: root, env, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    console.log(`# ${impl} ${argv.join(' ')} failed (status ${r.status}): ${(r.stderr ?? '').split('\n').slice(-5).join(' | ')}`);
    return [];
  }
  return r.stdout.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Row);
}

const jobs: string[][] = [];
if (!only || only === 'first') for (const s of [8, 1024]) jobs.push(['first', String(s)]);
if (!only || only === 'pingpong') for (const s of [8, 1024, 1 << 20]) jobs.push(['pingpong', String(s)]);
if (!only || only === 'window') jobs.push(['window', '4096']);
const impls: Impl[] = ['zcmpi', 'mpi4py', 'C'];

// results[key][impl] = values over reps; key names the figure.
const results = new Map<string, Map<Impl, number[]>>();
const put = (key: string, impl: Impl, v: number): void => {
  let m = results.get(key);
  if (!m) results.set(key, (m = new Map()));
  let a = m.get(impl);
  if (!a) m.set(impl, (a = []));
  a.push(v);
};
for (let rep = 0; rep < reps; rep++) {
  for (const job of jobs) {
    for (const impl of impls) {
      process.stderr.write(`rep ${rep + 1}/${reps}: ${job.join(' ')} ${impl}\n`);
      for (const row of run(impl, job)) {
        if (row.mode === 'first') {
          put(`first ${row.size} ${row.stretch} median`, impl, row.median as number);
          put(`first ${row.size} ${row.stretch} mean`, impl, row.mean as number);
        } else if (row.mode === 'pingpong') put(`pingpong ${row.size}`, impl, row.oneway as number);
        else put(`window ${row.size}`, impl, row.mbps as number);
      }
    }
  }
}

const med = (a: number[] | undefined): number | undefined => {
  if (!a || a.length === 0) return undefined;
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (v: number | undefined, d = 2): string => (v === undefined ? '-' : v.toFixed(d));
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? '-' : (a / b).toFixed(2));
const size = (n: number): string => (n >= 1 << 20 ? `${n >> 20} MiB` : n >= 1024 ? `${n >> 10} KiB` : `${n} B`);

console.log(`# first-messages: 2 ranks, zcmpi guard ${guard}, medians of ${reps} interleaved reps, ${new Date().toISOString()}`);
const verdicts: string[] = [];
if (!only || only === 'first') {
  console.log('\n## One-way latency by stretch of round trips (us; median / mean of each stretch), fresh process');
  console.log('| size | trips | zcmpi | mpi4py | C | zcmpi/mpi4py (median) | zcmpi/C (median) |');
  console.log('|---:|---|---:|---:|---:|---:|---:|');
  for (const s of [8, 1024]) {
    for (const st of ['1-100', '101-1000', '1001-2000', '18001-20000']) {
      const m = results.get(`first ${s} ${st} median`);
      const a = results.get(`first ${s} ${st} mean`);
      const cell = (i: Impl): string => `${fmt(med(m?.get(i)))} / ${fmt(med(a?.get(i)))}`;
      console.log(`| ${size(s)} | ${st === '18001-20000' ? '18001-20000 (steady)' : st} | ${cell('zcmpi')} | ${cell('mpi4py')} | ${cell('C')} | ${ratio(med(m?.get('zcmpi')), med(m?.get('mpi4py')))} | ${ratio(med(m?.get('zcmpi')), med(m?.get('C')))} |`);
    }
    const first = med(results.get(`first ${s} 1-100 median`)?.get('zcmpi'));
    const steady = med(results.get(`first ${s} 18001-20000 median`)?.get('zcmpi'));
    if (first !== undefined && steady !== undefined) {
      const r = first / steady;
      verdicts.push(`| ${size(s)}: median of the first 100 round trips <= 3x steady | ${r.toFixed(2)}x: ${r <= 3 ? 'met' : 'MISSED'} |`);
    }
  }
}
if (!only || only === 'pingpong') {
  console.log('\n## User-style ping-pong, 2000 round trips after 100 warm-up, fresh process (one-way us, mean)');
  console.log('| size | zcmpi | mpi4py | C | zcmpi/mpi4py | zcmpi/C |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const s of [8, 1024, 1 << 20]) {
    const m = results.get(`pingpong ${s}`);
    const [z, p, c] = [med(m?.get('zcmpi')), med(m?.get('mpi4py')), med(m?.get('C'))];
    console.log(`| ${size(s)} | ${fmt(z)} | ${fmt(p)} | ${fmt(c)} | ${ratio(z, p)} | ${ratio(z, c)} |`);
    if (s < 1 << 20 && z !== undefined && p !== undefined) {
      verdicts.push(`| ${size(s)} ping-pong <= 1.5x mpi4py (goal <= 1x) | ${(z / p).toFixed(2)}x: ${z / p <= 1.5 ? 'met' : 'MISSED'} |`);
    }
    if (s === 1 << 20 && z !== undefined && c !== undefined) {
      verdicts.push(`| 1 MiB ping-pong <= 1.25x Open MPI C | ${(z / c).toFixed(2)}x: ${z / c <= 1.25 ? 'met' : 'MISSED'} |`);
    }
  }
}
if (!only || only === 'window') {
  console.log('\n## Window bandwidth, window 64, 200 windows after 20, fresh process (MB/s)');
  console.log('| size | zcmpi | mpi4py | C | zcmpi/mpi4py | zcmpi/C |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  let worst = Infinity;
  for (let s = 8; s <= 4096; s *= 2) {
    const m = results.get(`window ${s}`);
    const [z, p, c] = [med(m?.get('zcmpi')), med(m?.get('mpi4py')), med(m?.get('C'))];
    console.log(`| ${size(s)} | ${fmt(z, 1)} | ${fmt(p, 1)} | ${fmt(c, 1)} | ${ratio(z, p)} | ${ratio(z, c)} |`);
    if (z !== undefined && p !== undefined) worst = Math.min(worst, z / p);
  }
  if (worst !== Infinity) verdicts.push(`| window bandwidth 8 B-4 KiB >= mpi4py | worst ${worst.toFixed(2)}x: ${worst >= 1 ? 'met' : 'MISSED'} |`);
}
if (verdicts.length) {
  console.log('\n## Targets (issue 7)\n| target | result |\n|---|---|');
  for (const v of verdicts) console.log(v);
}
