// Strict mode: a write to a send buffer in flight is reported on stderr (ERROR: zcmpi:,
// the request, the JS stack where it was posted), the data stays right, and the rank exits
// with status 66 (the job fails). A program that waits properly exits 0 with no report.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('hazard: report and exit status 66', async t => {
  const r = await runRanks('strict-hazard.ts', ['hazard'], { guard: 'strict' });
  t.not(r.code, 0, 'the job fails');
  t.match(r.stderr, /rank 0 .*exited with status 66/, 'rank 0 exits with 66');
  t.match(r.stderr, /^ERROR: zcmpi: write-to-send-buffer on rank 0/m, 'report headline');
  t.match(r.stderr, /request #\d+: isend to rank 1, tag 1, 4194304 bytes/, 'names the request');
  t.match(r.stderr, /strict-hazard\.ts:\d+:\d+/, 'JS stack of the isend');
  t.match(r.stdout, /^ok 0 hazard$/m, 'the sender finished');
  t.match(r.stdout, /^ok 1 hazard$/m, 'the receiver got the right data');
});

t.test('no hazard: no report, exit 0', async t => {
  const r = await runRanks('strict-hazard.ts', ['clean'], { guard: 'strict' });
  allOk(t, r, 2);
  t.notMatch(r.stderr, /ERROR: zcmpi/);
});
