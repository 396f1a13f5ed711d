// sshd and its session processes on one host are killed mid-job: the connection drops,
// the launcher ends the job naming that host, exits non-zero, and within 10 s nothing of
// the job runs on any host, including the one whose sshd died (the wrapper notices its
// channel is gone and kills its rank).
import t from 'tap';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, startCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

t.test('sshd killed on host 1 mid-job: job ends naming the host, nothing left', { skip: why }, async t => {
  const c = await createCluster({ hosts: 3 });
  t.teardown(() => c.cleanup());
  const run = startCli(['-np', '6', '--host', hostList(c, 2), ...sshOptions(c), sshFixture('hang.ts'), '--child']);
  t.teardown(() => { run.child.kill('SIGKILL'); });
  await run.waitFor(/^ready \d+ \d+$/m, 6);
  t.equal(c.pgrepIn(1, /zcmpi-grandchild/).length, 2, 'host 1 runs two ranks with grandchildren');
  const t0 = Date.now();
  await c.stopHost(1);
  const r = await run.exited;
  t.not(r.code, 0, 'launcher exits non-zero');
  t.match(r.stderr, new RegExp(`^zcmpirun: rank [23] \\(host ${c.hosts[1].name.replace(/\./g, '\\.')}(, pid \\d+)?\\) was lost: the SSH connection to ${c.hosts[1].name.replace(/\./g, '\\.')} was lost`, 'm'),
    'the message names the host whose connection dropped');
  const left = await c.waitNoneLeft(JOB_PROCESSES, 10000);
  t.same(left, [], 'nothing of the job on any host, including the orphaned one');
  t.ok(Date.now() - t0 < 10000, `all gone within 10 s of the failure (${Date.now() - t0} ms)`);
});
