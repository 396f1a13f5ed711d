// A host list naming this machine (localhost) and an SSH host: the local ranks start as
// child processes without SSH, the remote ones over SSH, and all bootstrap together (the
// KV service listens on the address the SSH host reaches us by).
import t from 'tap';
import { readlinkSync } from 'node:fs';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { JOB_PROCESSES, netnsId, runCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

t.test('localhost:1 + one SSH host: rank 0 here, rank 1 there, one job', { skip: why }, async t => {
  const c = await createCluster({ hosts: 1 });
  t.teardown(() => c.cleanup());
  const r = await runCli(['-np', '2', '--host', `localhost:1,${c.hosts[0].name}:1`, ...sshOptions(c), sshFixture('exchange.ts')]);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').sort();
  t.match(lines[0], `rank 0/2 local 0/1 host localhost netns ${readlinkSync('/proc/self/ns/net')} sum 1`);
  t.match(lines[1], `rank 1/2 local 0/1 host ${c.hosts[0].name} netns ${netnsId(c, 0)} sum 1`);
  t.equal(c.pgrepIn(0, /^sshd: root/).length, 0, 'the SSH session is closed');
  t.same(await c.waitNoneLeft(JOB_PROCESSES), []);
});

t.test('several names of this machine are one host: local ranks counted together', async t => {
  const r = await runCli(['--host', 'localhost:1,127.0.0.1:1', sshFixture('exchange.ts')]);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').sort();
  t.match(lines[0], /^rank 0\/2 local 0\/2 host localhost /);
  t.match(lines[1], /^rank 1\/2 local 1\/2 host localhost /);
});
