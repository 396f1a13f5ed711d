// Ranks spread over three SSH hosts (network namespaces) bootstrap through the launcher's
// key-value service and all see each other's values; every rank runs in the namespace of
// the host it was mapped to, --map-by node deals them round robin; nothing is left after.
import t from 'tap';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, launcherLines, netnsId, runCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

t.test('6 ranks on 3 hosts x 2 slots exchange values through the KV service', { skip: why }, async t => {
  const c = await createCluster({ hosts: 3 });
  t.teardown(() => c.cleanup());
  const r = await runCli(['-np', '6', '--host', hostList(c, 2), ...sshOptions(c), sshFixture('exchange.ts')]);
  t.equal(r.code, 0, r.stderr);
  t.same(launcherLines(r.stderr), [], 'no launcher messages');
  const lines = r.stdout.trim().split('\n').sort();
  t.equal(lines.length, 6);
  const saw = c.hosts.flatMap(h => [h.name, h.name]).map((h, rank) => `${rank}@${h}`).join(',');
  for (let rank = 0; rank < 6; rank++) {
    const host = Math.floor(rank / 2);
    t.match(lines[rank], `rank ${rank}/6 local ${rank % 2}/2 host ${c.hosts[host].name} netns ${netnsId(c, host)} sum 55 saw ${saw}`,
      `rank ${rank} ran on host ${host} and saw every rank`);
  }
  t.same(await c.waitNoneLeft(JOB_PROCESSES), [], 'nothing of the job is left on any host');
});

t.test('--map-by node with a hostfile: round robin, -np defaults to the slot count', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  const { writeFileSync } = await import('node:fs');
  const hf = `${c.dir}/hostfile`;
  writeFileSync(hf, `# two hosts\n${c.hosts[0].name} slots=2\n\n${c.hosts[1].name} slots=1\n`);
  const r = await runCli(['--hostfile', hf, '--map-by', 'node', ...sshOptions(c), sshFixture('exchange.ts')]);
  t.equal(r.code, 0, r.stderr);
  const byRank = Object.fromEntries(r.stdout.trim().split('\n').map(l => [Number(/^rank (\d+)/.exec(l)![1]), l]));
  t.same(Object.keys(byRank).length, 3, 'three ranks (the slot count)');
  t.match(byRank[0], `host ${c.hosts[0].name} netns ${netnsId(c, 0)}`);
  t.match(byRank[1], `host ${c.hosts[1].name} netns ${netnsId(c, 1)}`);
  t.match(byRank[2], `local 1/2 host ${c.hosts[0].name}`);
});
