// Launch of a trivial 4-rank program (init, one barrier, finalize; bench/launch-hello/)
// as a user runs it, whole command, wall clock:
//   zcmpirun -np 4 hello.ts   warm compile cache, and cold (an empty cache each run)
//   zcmpirun -np 4 hello.mjs  the same program in plain JavaScript
//   mpirun -np 4 python3 hello.py   mpi4py's equivalent (Open MPI from Debian)
// Every configuration runs once per round (interleaved, so the load of a shared machine
// hits all alike), medians and minimums over the rounds, then the ratios of the targets.
// Needs `npm run build` (dist/ and the native addon). mpirun rows are skipped when
// /usr/bin/mpirun or mpi4py is missing (apt-get install openmpi-bin python3-mpi4py).
// Usage: node --import tsx bench/launch-vs-mpi4py.ts [--runs N] [--np N] [--before CLI.js]
// --before: another zcmpirun (e.g. an older checkout's dist/launcher/cli.js) for a .ts row.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const RUNS = Number(arg('--runs') ?? 11);
const NP = Number(arg('--np') ?? 4);
const before = arg('--before');
const cli = join(root, 'dist/launcher/cli.js');
const hello = (ext: string) => join(root, 'bench/launch-hello', `hello.${ext}`);
if (!existsSync(cli)) throw new Error('run `npm run build` first (dist/launcher/cli.js is missing)');

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', d => { err += d; });
    c.on('exit', code => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

const scratch = mkdtempSync(join(tmpdir(), 'zcmpi-bench-launch-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
const warmCache = join(scratch, 'warm');
let coldN = 0;

interface Config { name: string; run: () => Promise<number> }
const configs: Config[] = [
  { name: `bare: ${NP} x node -e 0 in parallel`, run: async () => { const t0 = performance.now(); await Promise.all(Array.from({ length: NP }, () => timed(process.execPath, ['-e', '0']))); return performance.now() - t0; } },
  { name: `zcmpirun -np ${NP} hello.mjs`, run: () => timed(process.execPath, [cli, '-np', String(NP), hello('mjs')]) },
  { name: `zcmpirun -np ${NP} hello.ts (warm cache)`, run: () => timed(process.execPath, [cli, '-np', String(NP), hello('ts')], { ...process.env, ZCMPI_CACHE_DIR: warmCache }) },
  { name: `zcmpirun -np ${NP} hello.ts (cold cache)`, run: () => timed(process.execPath, [cli, '-np', String(NP), hello('ts')], { ...process.env, ZCMPI_CACHE_DIR: join(scratch, `cold-${coldN++}`) }) },
];
if (before) configs.push({ name: `before: ${NP} x hello.ts (--before CLI)`, run: () => timed(process.execPath, [before, '-np', String(NP), hello('ts')]) });
const python = '/usr/bin/python3';
const haveMpi = existsSync('/usr/bin/mpirun') && spawnSync(python, ['-c', 'import mpi4py'], { stdio: 'ignore' }).status === 0;
if (haveMpi) {
  const asRoot = process.getuid?.() === 0 ? ['--allow-run-as-root'] : [];
  configs.push({ name: `mpirun -np ${NP} python3 hello.py (mpi4py)`, run: () => timed('/usr/bin/mpirun', ['-np', String(NP), ...asRoot, '--oversubscribe', python, hello('py')]) });
} else {
  console.log('# mpirun rows skipped: /usr/bin/mpirun or python3-mpi4py missing (apt-get install openmpi-bin python3-mpi4py)');
}

const results = new Map<Config, number[]>(configs.map(c => [c, []]));
// Warm-up round (page cache, the warm compile cache); not counted.
for (const c of configs) await c.run();
for (let i = 0; i < RUNS; i++) for (const c of configs) results.get(c)!.push(await c.run());

const med = (i: number) => median(results.get(configs[i])!);
console.log(`# launch to exit, ${NP} ranks, ${RUNS} interleaved rounds after 1 warm-up round, ms (node ${process.version})`);
console.log(`# ${'what'.padEnd(44)} ${'median'.padStart(8)} ${'min'.padStart(8)}`);
for (const c of configs) {
  const xs = results.get(c)!;
  console.log(`  ${c.name.padEnd(44)} ${median(xs).toFixed(0).padStart(8)} ${Math.min(...xs).toFixed(0).padStart(8)}`);
}
const mjs = med(1), warm = med(2), cold = med(3);
console.log(`# .ts warm / .mjs: ${(warm / mjs).toFixed(2)}x (target <= 1.5x); .ts cold / .mjs: ${(cold / mjs).toFixed(2)}x`);
if (haveMpi) {
  const mpi = median(results.get(configs[configs.length - 1])!);
  console.log(`# .ts warm / mpirun+mpi4py: ${(warm / mpi).toFixed(2)}x (target <= 1x); .mjs / mpirun+mpi4py: ${(mjs / mpi).toFixed(2)}x`);
}
if (before) console.log(`# before / .ts warm: ${(median(results.get(configs[4])!) / warm).toFixed(2)}x`);
