// Strict mode: a send posted on the bytes of a pending receive is a hazard like a program
// read of them: one report with the JS stack of the receive's post, the send still carries
// the received bytes, exit status 66. The same program awaiting the receive first: no
// report, exit 0.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

const hazards: [string, string][] = [['post-on-recv', 'read-of-receive-buffer']];

for (const [what, hazard] of hazards) {
  t.test(`${what}: reported as ${hazard}`, async t => {
    const r = await runRanks('../guard/strict-observed.ts', [what], { guard: 'strict', timeout: 25 });
    t.match(r.stderr, /rank 0 .*exited with status 66/, 'rank 0 exits with 66');
    const reports = r.stderr.split('\n').filter(l => l.includes('ERROR: zcmpi:'));
    t.equal(reports.length, 1, `exactly one report:\n${r.stderr}`);
    t.match(reports[0] ?? '', new RegExp(`^ERROR: zcmpi: ${hazard} on rank 0`), 'names the hazard and the rank');
    t.match(r.stderr, /strict-observed\.ts:\d+:\d+/, 'with the JS stack of the post');
    t.match(r.stdout, new RegExp(`^ok 0 ${what}$`, 'm'), 'rank 0 computed the right values');
    t.match(r.stdout, new RegExp(`^ok 1 ${what}$`, 'm'), 'rank 1 received the right values');
  });
}

t.test('clean: no report', async t => {
  const r = await runRanks('../guard/strict-observed.ts', ['clean'], { guard: 'strict', timeout: 25 });
  allOk(t, r, 2);
  t.notMatch(r.stderr, /ERROR: zcmpi/);
});
