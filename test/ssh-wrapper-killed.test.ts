// The remote wrapper between sshd and a rank is itself SIGKILLed (nothing it can catch):
// the rank notices through its lifeline pipe and ends its process group, the launcher
// reports the rank's host and ends the job, and nothing is left on any host.
import t from 'tap';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, startCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

t.test('wrappers on host 1 SIGKILLed: their ranks end themselves, job ends', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  const run = startCli(['-np', '4', '--host', hostList(c, 2), ...sshOptions(c), sshFixture('hang.ts'), '--child']);
  t.teardown(() => { run.child.kill('SIGKILL'); });
  await run.waitFor(/^ready \d+ \d+$/m, 4);
  const wrappers = c.pgrepIn(1, /^\S*node -e [\s\S]*hang\.ts(?:\.mjs)? --child$/);
  t.equal(wrappers.length, 2, 'two wrappers on host 1');
  const t0 = Date.now();
  for (const w of wrappers) process.kill(w.pid, 'SIGKILL');
  const r = await run.exited;
  t.not(r.code, 0);
  t.match(r.stderr, new RegExp(`^zcmpirun: rank [23] \\(host ${esc(c.hosts[1].name)}, pid \\d+\\) was killed by SIGKILL; ending the job$`, 'm'));
  t.same(await c.waitNoneLeft(JOB_PROCESSES, 10000), [], 'nothing left on either host');
  t.ok(Date.now() - t0 < 10000, `within 10 s (${Date.now() - t0} ms)`);
  t.match(r.stderr, /the launcher went away; ending this rank/, 'the ranks said why they ended');
});
