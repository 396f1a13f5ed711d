// A remote rank that exits non-zero or dies of a signal ends the whole job: the launcher
// names the rank and its host, exits with the rank's status (128+N for a signal), and
// within 10 s nothing of the job runs on any host (checked inside every namespace).
import t from 'tap';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, startCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

for (const [how, what, status, text] of [
  ['exit', '3', 3, 'exited with status 3'],
  ['kill', 'SIGKILL', 137, 'was killed by SIGKILL'],
] as const) {
  t.test(`rank 2 ${how} ${what}: job ends with ${status}, nothing left anywhere`, { skip: why }, async t => {
    const c = await createCluster({ hosts: 3 });
    t.teardown(() => c.cleanup());
    const run = startCli(['-np', '6', '--host', hostList(c, 2), ...sshOptions(c), sshFixture('fail.ts'), '2', how, what]);
    t.teardown(() => { run.child.kill('SIGKILL'); });
    await run.waitFor(/^ready \d+$/m, 6);
    const r = await run.exited;
    const failedAt = Date.now();
    t.equal(r.code, status, `launcher exits with ${status}`);
    t.match(r.stderr, new RegExp(`^zcmpirun: rank 2 \\(host ${c.hosts[1].name.replace(/\./g, '\\.')}, pid \\d+\\) ${text}; ending the job$`, 'm'),
      'the message names rank and host');
    const left = await c.waitNoneLeft(JOB_PROCESSES, 10000);
    t.same(left, [], 'no rank, wrapper or grandchild left in any namespace');
    t.ok(Date.now() - failedAt < 10000, 'all gone within 10 s');
  });
}
