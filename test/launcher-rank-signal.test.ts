// A rank killed by a signal ends the job; the launcher exits with 128+signal.
import t from 'tap';
import { fixture, killAll, pidsIn, runCli, survivors } from './fixtures/launcher/helpers.js';

t.test('rank 2 dies of SIGSEGV: status 139, message names the signal', async t => {
  const r = await runCli(['-np', '3', fixture('fail.ts'), '2', 'signal', 'SIGSEGV']);
  const pids = pidsIn(r.stdout);
  t.teardown(() => killAll(pids));
  t.equal(r.code, 139);
  t.match(r.stderr, /^zcmpirun: rank 2 \(host localhost, pid \d+\) was killed by SIGSEGV; ending the job$/m);
  t.same(await survivors(pids), [], 'no rank process is left');
});

t.test('rank 0 dies of SIGKILL: status 137', async t => {
  const r = await runCli(['-np', '2', fixture('fail.ts'), '0', 'signal', 'SIGKILL']);
  const pids = pidsIn(r.stdout);
  t.teardown(() => killAll(pids));
  t.equal(r.code, 137);
  t.match(r.stderr, /rank 0 \(host localhost, pid \d+\) was killed by SIGKILL/);
  t.same(await survivors(pids), []);
});
