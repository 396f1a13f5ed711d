// Ranks on SSH hosts reach the KV service at the local address of the SSH connection by
// default; --bootstrap-addr names the address instead (and an address the hosts cannot
// reach makes the ranks fail to bootstrap, which ends the job).
import t from 'tap';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, runCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

t.test('default and explicit bootstrap address; an unreachable one times out', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  const env = sshFixture('env.ts');
  const def = await runCli(['-np', '2', '--host', hostList(c), ...sshOptions(c), env, 'ZCMPI_KV_ADDR']);
  t.equal(def.code, 0, def.stderr);
  t.match(def.stdout, new RegExp(`^env 0 \\{"ZCMPI_KV_ADDR":"${c.bridgeAddr.replace(/\./g, '\\.')}:\\d+"\\}$`, 'm'), 'the SSH connection\'s local address');
  const exp = await runCli(['-np', '2', '--host', hostList(c), ...sshOptions(c), '--bootstrap-addr', c.bridgeAddr, sshFixture('exchange.ts')]);
  t.equal(exp.code, 0, exp.stderr);
  t.equal(exp.stdout.trim().split('\n').length, 2);
  // 127.0.0.1 is this machine, but inside a host's namespace it is that host itself:
  // the ranks are refused there and the first one to give up ends the job.
  const bad = await runCli(['-np', '2', '--host', hostList(c), ...sshOptions(c), '--bootstrap-addr', '127.0.0.1', '--timeout-startup', '20', sshFixture('exchange.ts')]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /cannot reach the launcher's key-value service at 127\.0\.0\.1:\d+/);
  t.match(bad.stderr, new RegExp(`^zcmpirun: rank [01] \\(host 10\\.77\\.\\d+\\.1[12], pid \\d+\\) exited with status 1; ending the job$`, 'm'));
  t.same(await c.waitNoneLeft(JOB_PROCESSES, 10000), []);
});
