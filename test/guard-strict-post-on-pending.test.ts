// Strict mode: a send posted on the bytes of a pending receive is a hazard like a program
// read of them: one report with the JS stack of the receive's post, the send still carries
// the received bytes, exit status 66. The same program awaiting the receive first: no
// report, exit 0.
import t from 'tap';
import { expectOneStrictReport } from './support/strict-observed.js';
import { allOk, runRanks } from './support/p2p.js';

const hazards: [string, string][] = [['post-on-recv', 'read-of-receive-buffer']];

for (const [what, hazard] of hazards) {
  t.test(`${what}: reported as ${hazard}`, async t => {
    await expectOneStrictReport(t, what, hazard);
  });
}

t.test('clean: no report', async t => {
  const r = await runRanks('../guard/strict-observed.ts', ['clean'], { guard: 'strict', timeout: 25 });
  allOk(t, r, 2);
  t.notMatch(r.stderr, /ERROR: zcmpi/);
});
