// Shared by the p2p tests: run a rank program from test/fixtures/p2p under the real
// launcher (through tsx, no build needed) and check that every rank reported `ok`.
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { root, runCli, type CliResult } from '../fixtures/launcher/helpers.js';

export { root };
export const p2pFixture = (name: string): string => join(root, 'test/fixtures/p2p', name);

export interface RunOptions {
  np?: number;
  guard?: 'block' | 'strict' | 'off';
  transport?: string;
  /** Extra launcher options (before the program). */
  launcher?: string[];
  env?: NodeJS.ProcessEnv;
  timeout?: number;
}

/** zcmpirun -np N [--guard G] fixture args... */
export function runRanks(fixture: string, args: string[] = [], o: RunOptions = {}): Promise<CliResult> {
  const cli = ['-np', String(o.np ?? 2), '--timeout', String(o.timeout ?? 120)];
  if (o.guard) cli.push('--guard', o.guard);
  if (o.transport) cli.push('--transport', o.transport);
  cli.push(...(o.launcher ?? []), p2pFixture(fixture), ...args);
  return runCli(cli, { env: { ...process.env, UCX_WARN_UNUSED_ENV_VARS: 'n', ...o.env } });
}

/** Exit status 0 and an `ok RANK` line from every rank. */
export function allOk(t: Test, r: CliResult, np: number, what = ''): void {
  t.equal(r.code, 0, `${what} exit status 0\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  for (let rank = 0; rank < np; rank++) {
    t.match(r.stdout, new RegExp(`^ok ${rank}\\b`, 'm'), `${what} rank ${rank} ok`);
  }
}

/** node --import tsx fixture, no launcher (a singleton): its exit status and output. */
export async function runSingleton(fixture: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', p2pFixture(fixture)], {
    cwd: root, env: { ...process.env, UCX_WARN_UNUSED_ENV_VARS: 'n' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', d => { stdout += d; });
  child.stderr.on('data', d => { stderr += d; });
  const code = await new Promise<number | null>(resolve => child.on('close', resolve));
  return { code, stdout, stderr };
}
