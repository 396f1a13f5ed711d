// A rank exiting non-zero ends the job: the others are killed, the launcher names the
// rank and exits with its status.
import t from 'tap';
import { alive, fixture, killAll, pidsIn, runCli, survivors } from './fixtures/launcher/helpers.js';

t.test('rank 1 exits with 3: job ends with status 3', async t => {
  const r = await runCli(['-np', '3', fixture('fail.ts'), '1', 'exit', '3']);
  const pids = pidsIn(r.stdout);
  t.teardown(() => killAll(pids));
  t.equal(r.code, 3, 'launcher exit status is the rank\'s');
  t.match(r.stderr, /^zcmpirun: rank 1 \(host localhost, pid \d+\) exited with status 3; ending the job$/m);
  const failedPid = Number(/rank 1 \(host localhost, pid (\d+)\)/.exec(r.stderr)?.[1]);
  t.ok(pids.includes(failedPid), 'the message names the failed rank\'s pid');
  t.equal(pids.length, 3, 'all ranks had started');
  t.same(await survivors(pids), [], 'no rank process is left');
  t.notOk(pids.some(alive));
});

t.test('a failing rank 0 ends the job too', async t => {
  const r = await runCli(['-np', '2', fixture('fail.ts'), '0', 'exit', '42']);
  const pids = pidsIn(r.stdout);
  t.teardown(() => killAll(pids));
  t.equal(r.code, 42);
  t.match(r.stderr, /rank 0 \(host localhost, pid \d+\) exited with status 42/);
  t.same(await survivors(pids), []);
});
