// The strict-observed fixture (test/fixtures/guard/strict-observed.ts) run for one hazard:
// exactly one strict report naming it and rank 0, with the JS stack of the post, exit
// status 66, and both ranks still computing the right values.
import type { Test } from 'tap';
import { runRanks } from './p2p.js';

export async function expectOneStrictReport(t: Test, what: string, hazard: string): Promise<void> {
  const r = await runRanks('../guard/strict-observed.ts', [what], { guard: 'strict', timeout: 25 });
  t.match(r.stderr, /rank 0 .*exited with status 66/, 'rank 0 exits with 66');
  const reports = r.stderr.split('\n').filter(l => l.includes('ERROR: zcmpi:'));
  t.equal(reports.length, 1, `exactly one report:\n${r.stderr}`);
  t.match(reports[0] ?? '', new RegExp(`^ERROR: zcmpi: ${hazard} on rank 0`), 'names the hazard and the rank');
  t.match(r.stderr, /strict-observed\.ts:\d+:\d+/, 'with the JS stack of the post');
  t.match(r.stdout, new RegExp(`^ok 0 ${what}$`, 'm'), 'rank 0 computed the right values');
  t.match(r.stdout, new RegExp(`^ok 1 ${what}$`, 'm'), 'rank 1 received the right values');
}
