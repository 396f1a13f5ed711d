// The three systems npm run bench compares, each running the same OSU benchmark with the
// same arguments: zcmpi (bench/osu.ts under zcmpirun), Open MPI's C (bench/c/osu_*.c under
// mpirun) and mpi4py (bench/py/osu.py under mpirun, Debian's python3-mpi4py on Open MPI).
// As root, the Debian packages Open MPI and mpi4py need are installed when missing.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestName } from '../osu/catalog.js';

export type SystemName = 'zcmpi' | 'ompi' | 'mpi4py';
export const SYSTEM_NAMES: SystemName[] = ['zcmpi', 'ompi', 'mpi4py'];
export const SYSTEM_LABELS: Record<SystemName, string> = { zcmpi: 'zcmpi', ompi: 'Open MPI C', mpi4py: 'mpi4py' };

/** Debian's mpi4py is for Debian's python3 (python3 on PATH may be another one). */
const PYTHON = '/usr/bin/python3';

/** Debian package -> a file that shows it is installed. */
const COMPARISON_PACKAGES: Record<string, string> = {
  'openmpi-bin': '/usr/bin/mpirun',
  'libopenmpi-dev': '/usr/bin/mpicc',
  'python3-mpi4py': '/usr/lib/python3/dist-packages/mpi4py/__init__.py',
  'python3-numpy': '/usr/lib/python3/dist-packages/numpy/__init__.py',
};

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Installs the comparison's Debian packages when root; returns what is still missing. */
export function ensureComparisonPackages(log: (m: string) => void): string[] {
  const missing = () => Object.entries(COMPARISON_PACKAGES).filter(([, f]) => !existsSync(f)).map(([p]) => p);
  const first = missing();
  if (first.length === 0) return [];
  if (!isRoot()) {
    log(`missing Debian packages ${first.join(' ')} (not root: install them with apt-get to compare with Open MPI and mpi4py)`);
    return first;
  }
  log(`installing Debian packages: ${first.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...first], { stdio: 'inherit', env });
  return missing();
}

/** Compiles bench/c/osu_*.c into bench/c/build; false (and why, logged) when it cannot. */
export function buildC(root: string, tests: TestName[], log: (m: string) => void): boolean {
  const out = join(root, 'bench/c/build');
  mkdirSync(out, { recursive: true });
  try {
    for (const t of tests) {
      execFileSync('mpicc', ['-O2', join(root, 'bench/c', `osu_${t}.c`), '-o', join(out, `osu_${t}`)], { stdio: ['ignore', 'inherit', 'inherit'] });
    }
    return true;
  } catch (e) {
    log(`Open MPI C programs not built: ${(e as Error).message}`);
    return false;
  }
}

export function mpi4pyWorks(): boolean {
  return spawnSync(PYTHON, ['-c', 'import mpi4py, numpy'], { stdio: 'ignore' }).status === 0;
}

/** The command line that runs `test args` on `np` ranks of `system`. */
export function command(root: string, system: SystemName, test: TestName, np: number, args: string[], timeoutS: number): string[] {
  const mpirun = ['mpirun', ...(isRoot() ? ['--allow-run-as-root'] : []), '--oversubscribe', '-np', String(np), '--timeout', String(timeoutS)];
  switch (system) {
    case 'zcmpi':
      return [process.execPath, '--import', 'tsx', join(root, 'launcher/cli.ts'), '-np', String(np), '--timeout', String(timeoutS), join(root, 'bench/osu.ts'), test, ...args];
    case 'ompi':
      return [...mpirun, join(root, 'bench/c/build', `osu_${test}`), ...args];
    case 'mpi4py':
      return [...mpirun, PYTHON, join(root, 'bench/py/osu.py'), test, ...args];
  }
}

export interface RunOutput {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs one benchmark job; its own process group, so a timeout ends all of it. */
export function runJob(root: string, argv: string[], timeoutS: number): Promise<RunOutput> {
  return new Promise(resolve => {
    const start = performance.now();
    const env = { ...process.env, UCX_WARN_UNUSED_ENV_VARS: 'n' };
    const child = spawn(argv[0], argv.slice(1), { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => {
      stderr += `\nbench: killed after ${timeoutS + 30} s\n`;
      try { process.kill(-(child.pid as number), 'SIGKILL'); } catch { /* already gone */ }
    }, (timeoutS + 30) * 1000);
    child.on('close', code => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (performance.now() - start) / 1000 });
    });
  });
}
