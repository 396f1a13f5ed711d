// Strict mode reports what MPI forbids by what the program observed, even when zcmpi had
// finished the transfer internally (a plain send copied at isend, a receive whose message
// was already there): one report with the JS stack of the post, the data right, exit
// status 66.
import t from 'tap';
import { expectOneStrictReport } from './support/strict-observed.js';

const hazards: [string, string][] = [
  ['send-copied', 'write-to-send-buffer'],
  ['recv-completed', 'read-of-receive-buffer'],
];

for (const [what, hazard] of hazards) {
  t.test(`${what}: reported as ${hazard}`, async t => {
    await expectOneStrictReport(t, what, hazard);
  });
}

