// A rank's kv.abort(message) ends the job; the launcher names the rank and the message.
import t from 'tap';
import { fixture, killAll, pidsIn, runCli, survivors } from './fixtures/launcher/helpers.js';

t.test('abort from rank 1 ends the job with status 1', async t => {
  const r = await runCli(['-np', '3', fixture('fail.ts'), '1', 'abort', 'the input is bad']);
  const pids = pidsIn(r.stdout);
  t.teardown(() => killAll(pids));
  t.equal(r.code, 1);
  t.match(r.stderr, /^zcmpirun: rank 1 \(host localhost, pid \d+\) called abort: the input is bad; ending the job$/m);
  t.equal(pids.length, 3);
  t.same(await survivors(pids), [], 'no rank process is left, the aborting one included');
});
