// Shared by the collective tests: run test/fixtures/coll programs under the real launcher
// (through tsx) for several rank counts, and check that every rank reported `ok`.
import type { Test } from 'tap';
import { join } from 'node:path';
import { root, runCli, type CliResult } from '../fixtures/launcher/helpers.js';
import { allOk } from './p2p.js';

export const collFixture = (name: string): string => join(root, 'test/fixtures/coll', name);

/** Rank counts 1 to 8 (oversubscribed on small machines: the checks keep iterations small). */
export const RANK_COUNTS = [1, 2, 3, 4, 5, 6, 7, 8];

export function runColl(fixture: string, args: string[], np: number, o: { guard?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const cli = ['-np', String(np), '--timeout', String(o.timeout ?? 240)];
  if (o.guard) cli.push('--guard', o.guard);
  cli.push(collFixture(fixture), ...args);
  return runCli(cli, { env: { ...process.env, UCX_WARN_UNUSED_ENV_VARS: 'n', ...o.env } });
}

/** One tap subtest per rank count, each one job running the given matrix suites. */
export function matrix(t: Test, suites: string[], counts: number[] = RANK_COUNTS): void {
  // One job per rank count, each bounded by the launcher's --timeout; tap's 30 s default
  // is for the whole file.
  t.setTimeout(counts.length * 300_000);
  for (const np of counts) {
    t.test(`${suites.join(', ')} with ${np} rank${np > 1 ? 's' : ''}`, async t => {
      allOk(t, await runColl('matrix.ts', suites, np), np);
    });
  }
}
