// A host that silently drops off the network (its link goes down: no FIN, no RST, sshd
// there never notices): the launcher's SSH keepalives fail and it ends the job naming the
// host; on the cut-off host the wrappers miss their heartbeats and kill their ranks, so
// within 10 s nothing of the job runs there either.
import t from 'tap';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, startCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

t.test('host 1 cut off mid-job: job ends naming it; its ranks die by themselves', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  const run = startCli(['-np', '4', '--host', hostList(c, 2), ...sshOptions(c), sshFixture('hang.ts'), '--child']);
  t.teardown(() => { run.child.kill('SIGKILL'); });
  await run.waitFor(/^ready \d+ \d+$/m, 4);
  t.equal(c.pgrepIn(1, /zcmpi-grandchild/).length, 2);
  const t0 = Date.now();
  c.unplug(1);
  const r = await run.exited;
  const ended = Date.now() - t0;
  t.not(r.code, 0);
  t.match(r.stderr, new RegExp(`^zcmpirun: rank [23] \\(host ${esc(c.hosts[1].name)}, pid \\d+\\) was lost: the SSH connection to ${esc(c.hosts[1].name)} was lost`, 'm'));
  t.ok(ended < 15000, `the launcher noticed within 15 s (${ended} ms)`);
  const left = await c.waitNoneLeft(JOB_PROCESSES, Math.max(0, 12000 - (Date.now() - t0)));
  t.same(left, [], 'nothing of the job on either host');
  t.ok(Date.now() - t0 < 12000, `the cut-off host was clean ${Date.now() - t0} ms after the cut`);
});
