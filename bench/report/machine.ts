// What docs/benchmarks.md records about the machine and the software a run used.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

export interface MachineInfo {
  date: string;
  cpu: string;
  cpus: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  node: string;
  zcmpi: string;
  ucx: string;
  openmpi: string;
  python: string;
  mpi4py: string;
  numpy: string;
  loadBefore: number[];
  loadAfter?: number[];
}

function tryRun(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'not installed';
  }
}

export function machineInfo(root: string): MachineInfo {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const commit = tryRun('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
  const osRelease = (() => {
    try { return /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown'; } catch { return 'unknown'; }
  })();
  const py = (code: string) => tryRun('/usr/bin/python3', ['-c', code]);
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: tryRun('uname', ['-r']),
    os: osRelease,
    node: process.version,
    zcmpi: `${pkg.version} (${commit})`,
    ucx: /Version ([\d.]+)/.exec(tryRun('ucx_info', ['-v']))?.[1] ?? 'unknown',
    openmpi: /\(Open MPI\) ([\d.]+)/.exec(tryRun('mpirun', ['--version']))?.[1] ?? 'not installed',
    python: py('import platform; print(platform.python_version())'),
    mpi4py: py('import mpi4py; print(mpi4py.__version__)'),
    numpy: py('import numpy; print(numpy.__version__)'),
    loadBefore: loadavg().map(v => Math.round(v * 100) / 100),
  };
}

export function finish(info: MachineInfo): void {
  info.loadAfter = loadavg().map(v => Math.round(v * 100) / 100);
}
