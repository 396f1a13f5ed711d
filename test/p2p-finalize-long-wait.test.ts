// finalize with a receive that nothing will ever match: after 10 s it names the request on
// stderr (call, request number, source, tag) instead of waiting in silence; the launcher's
// --timeout then ends the job.
import t from 'tap';
import { runRanks } from './support/p2p.js';

t.test('finalize names the request it waits for', async t => {
  const r = await runRanks('finalize-never-matched.ts', [], { np: 1, timeout: 16 });
  t.match(r.stdout, /^finalizing 0$/m, 'the program reached finalize');
  t.match(r.stderr, /zcmpi: rank 0: finalize has waited 10 s for requests the program posted and never completed: irecv #\d+ \(source 0, tag 77\)/,
    `the long-wait line names the receive\n${r.stderr}`);
  t.not(r.code, 0, 'the job ended by its timeout, not as a success');
});
