// SIGINT or SIGTERM to the launcher ends a job running on several SSH hosts: the ranks are
// killed everywhere, grandchildren included, and the launcher exits 128+N. If the
// launcher itself dies (SIGKILL), its connections drop and the wrappers still kill
// everything within 10 s.
import t from 'tap';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, startCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

for (const [sig, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  t.test(`${sig} to the launcher: exit ${status}, no orphans on any host`, { skip: why }, async t => {
    const c = await createCluster({ hosts: 2 });
    t.teardown(() => c.cleanup());
    const run = startCli(['-np', '4', '--host', hostList(c, 2), ...sshOptions(c), sshFixture('hang.ts'), '--child']);
    t.teardown(() => { run.child.kill('SIGKILL'); });
    await run.waitFor(/^ready \d+ \d+$/m, 4);
    t.equal(c.pgrepAll(/zcmpi-grandchild/).length, 4);
    run.child.kill(sig);
    const r = await run.exited;
    t.equal(r.code, status);
    t.match(r.stderr, new RegExp(`received ${sig}`));
    t.same(await c.waitNoneLeft(JOB_PROCESSES, 10000), [], 'nothing left in any namespace');
  });
}

t.test('launcher killed with SIGKILL: the remote wrappers clean up by themselves', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  const run = startCli(['-np', '4', '--host', hostList(c, 2), ...sshOptions(c), sshFixture('hang.ts'), '--child']);
  t.teardown(() => { run.child.kill('SIGKILL'); });
  await run.waitFor(/^ready \d+ \d+$/m, 4);
  const t0 = Date.now();
  run.child.kill('SIGKILL');
  await run.exited;
  t.same(await c.waitNoneLeft(JOB_PROCESSES, 10000), [], 'nothing left in any namespace');
  t.ok(Date.now() - t0 < 10000, `within 10 s (${Date.now() - t0} ms)`);
});
