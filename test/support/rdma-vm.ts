// Test support for the Soft-RoCE guests of test/rdma/vm-run.sh: run the harness, read
// perftest reports, find what a run may have left behind.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const vmRun = join(root, 'test/rdma/vm-run.sh');

/** Why the harness cannot run here (it installs packages and, for two guests, makes a netns). */
export function vmSkipReason(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'the Soft-RoCE guests need x86-64 Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root (Debian packages, network namespace, tap devices)';
  return undefined;
}

export interface VmResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Process id of the harness (it names its network namespace zcrvm-PID). */
  pid: number;
  /** Wall time of the whole harness run. */
  ms: number;
}

export interface VmRunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the harness (its whole process group) after this long: a hung harness fails the test. */
  killAfterMs?: number;
}

/** Runs `vm-run.sh ...args` and collects its output. */
export function runVm(args: string[], opts: VmRunOptions = {}): Promise<VmResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(vmRun, args, {
      cwd: opts.cwd ?? root, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    // The harness runs in its own process group: if this test process ends first (tap's
    // timeout, a crash), the group goes with it, qemu included (the harness's trap cleans up).
    const killGroup = () => { try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* gone */ } };
    process.once('exit', killGroup);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', d => { stdout += d; });
    child.stderr.on('data', d => { stderr += d; });
    const timer = setTimeout(() => {
      stderr += `\n[test: vm-run.sh killed after ${opts.killAfterMs} ms]\n`;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
    }, opts.killAfterMs ?? 240000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.removeListener('exit', killGroup);
      resolve({ code, signal, stdout, stderr, pid: child.pid!, ms: Date.now() - started });
    });
  });
}

/** The text between `==BEGIN name==` and `==END name==` lines of a batch script's output. */
export function section(out: string, name: string): string {
  const m = new RegExp(`^==BEGIN ${name}==\\n([\\s\\S]*?)^==END ${name}==$`, 'm').exec(out);
  return m ? m[1] : '';
}

export interface LatencyReport { bytes: number; iterations: number; minUs: number; typicalUs: number; avgUs: number }
export interface BandwidthReport { bytes: number; iterations: number; peakMBs: number; avgMBs: number }

/** The result row of an ib_*_lat report, or undefined. (Its stdev column can read -nan under TCG.) */
export function parseLatency(report: string): LatencyReport | undefined {
  const row = (report.split(/t_min\[usec\].*\n/)[1] ?? '').split('\n')[0].trim().split(/\s+/);
  const [bytes, iterations, minUs, , typicalUs, avgUs] = row.map(Number);
  if (row.length < 6 || [bytes, iterations, minUs, typicalUs, avgUs].some(v => !Number.isFinite(v))) return undefined;
  return { bytes, iterations, minUs, typicalUs, avgUs };
}

/** The result row of an ib_*_bw report, or undefined. */
export function parseBandwidth(report: string): BandwidthReport | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+\s*$/m.exec(report.split(/BW peak\[MB\/sec\].*\n/)[1] ?? '');
  if (!m) return undefined;
  return { bytes: +m[1], iterations: +m[2], peakMBs: +m[3], avgMBs: +m[4] };
}

/** Processes whose command line contains `text` (e.g. a run's private TMPDIR). */
export function processesMentioning(text: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cmd.includes(text)) out.push(`${pid} ${cmd}`);
    } catch { /* gone */ }
  }
  return out;
}
