// --oversubscribe lets more ranks than slots run; the extra ranks are spread over the
// hosts and every rank still bootstraps with all others.
import t from 'tap';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, runCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

t.test('-np 5 on 2 hosts x 1 slot with --oversubscribe', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  const refused = await runCli(['-np', '5', '--host', hostList(c), ...sshOptions(c), sshFixture('exchange.ts')]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /not enough slots: 5 ranks requested but only 2 slots on 2 hosts/);
  const r = await runCli(['-np', '5', '--host', hostList(c), '--oversubscribe', ...sshOptions(c), sshFixture('exchange.ts')]);
  t.equal(r.code, 0, r.stderr);
  const hostOf = (rank: number) => new RegExp(`^rank ${rank}/5 .* host (\\S+) `, 'm').exec(r.stdout)?.[1];
  t.same([0, 1, 2, 3, 4].map(hostOf), [0, 0, 0, 1, 1].map(i => c.hosts[i].name), 'host 0 takes 3 ranks, host 1 takes 2');
  t.match(r.stdout, /^rank 4\/5 local 1\/2 /m);
  t.same(await c.waitNoneLeft(JOB_PROCESSES), []);
});
