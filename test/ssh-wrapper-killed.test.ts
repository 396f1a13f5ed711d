// The daemon that starts a host's ranks is itself SIGKILLed (nothing it can catch): its
// ranks notice through their lifeline pipes and end their process groups, the launcher
// reports a rank of that host lost with the daemon's fate and ends the job, and nothing is
// left on any host (the ranks' own processes included, which nothing but their lifeline ends).
import t from 'tap';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, startCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

t.test('the daemon on host 1 SIGKILLed: its ranks end themselves, job ends', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  const run = startCli(['-np', '4', '--host', hostList(c, 2), ...sshOptions(c), sshFixture('hang.ts'), '--child']);
  t.teardown(() => { run.child.kill('SIGKILL'); });
  await run.waitFor(/^ready \d+ \d+$/m, 4);
  const daemons = c.pgrepIn(1, /^\S*node -e [\s\S]* zcmpi-daemon \d+$/);
  t.equal(daemons.length, 1, 'one daemon on host 1, for its two ranks');
  t.equal(c.pgrepIn(1, /hang\.ts\.mjs --child$/).length, 2, 'two ranks on host 1');
  const t0 = Date.now();
  for (const d of daemons) process.kill(d.pid, 'SIGKILL');
  const r = await run.exited;
  t.not(r.code, 0);
  t.match(r.stderr, new RegExp(`^zcmpirun: rank [23] \\(host ${esc(c.hosts[1].name)}, pid \\d+\\) was lost: the zcmpi daemon on ${esc(c.hosts[1].name)} was killed by SIGKILL; ending the job$`, 'm'), r.stderr);
  t.same(await c.waitNoneLeft(JOB_PROCESSES, 10000), [], 'nothing left on either host');
  t.ok(Date.now() - t0 < 10000, `within 10 s (${Date.now() - t0} ms)`);
  // Their last words ("the launcher went away") went to the dead daemon's pipes: only
  // their disappearance shows that the lifeline worked (nothing else was left to end them).
});
