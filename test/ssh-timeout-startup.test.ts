// --timeout-startup over SSH: ranks that never reach the bootstrap fence end the job
// after S seconds with a message naming them; nothing is left on any host. --timeout
// ends a job that runs too long the same way.
import t from 'tap';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, runCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

t.test('--timeout-startup 3: ranks that never bootstrap end the job', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  const r = await runCli(['-np', '2', '--host', hostList(c), ...sshOptions(c), '--timeout-startup', '3', sshFixture('hang.ts'), '--no-fence', '--child']);
  t.equal(r.code, 1);
  t.match(r.stderr, /ranks 0, 1 did not reach the first key-value fence within --timeout-startup 3 s/);
  t.match(r.stdout, /^ready 0 \d+$/m, 'the ranks had started');
  t.ok(r.ms < 30000, `ended in time (${r.ms} ms)`);
  t.same(await c.waitNoneLeft(JOB_PROCESSES, 10000), [], 'nothing left in any namespace');
});

t.test('--timeout 3: a job that runs too long is ended everywhere', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  const r = await runCli(['-np', '2', '--host', hostList(c), ...sshOptions(c), '--timeout', '3', sshFixture('hang.ts'), '--child']);
  t.equal(r.code, 1);
  t.match(r.stderr, /the job ran longer than --timeout 3 s/);
  t.same(await c.waitNoneLeft(JOB_PROCESSES, 10000), []);
});
