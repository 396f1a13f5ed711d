// Authentication that the host refuses (a key it does not know, a user it does not know,
// no keys at all) is a one-line error naming user@host and what was tried; exit 1. No
// password is ever tried.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, runCli, sshFixture } from './support/ssh-cli.js';

const why = skipReason();

t.test('a key the host does not accept: refused, naming user@host and the key', { skip: why }, async t => {
  const c = await createCluster({ hosts: 1 });
  t.teardown(() => c.cleanup());
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${c.dir}/stranger`]);
  const h = c.hosts[0].name;
  const r = await runCli(['-np', '1', '--host', hostList(c), '--ssh-user', 'root', '--ssh-key', `${c.dir}/stranger`, '--ssh-known-hosts', c.knownHostsPath,
    '--no-ssh-agent', sshFixture('exchange.ts')]);
  t.equal(r.code, 1);
  t.equal(r.stderr, `zcmpirun: error: root@${h}: authentication refused (tried key ${c.dir}/stranger)\n`);
  t.same(c.pgrepAll(JOB_PROCESSES), []);
  const log = readFileSync(c.hosts[0].logPath, 'utf8');
  t.notMatch(log, /password/i, 'no password attempt reached sshd');
});

t.test('a user the host does not know', { skip: why }, async t => {
  const c = await createCluster({ hosts: 1 });
  t.teardown(() => c.cleanup());
  const r = await runCli(['-np', '1', '--host', hostList(c), '--ssh-user', 'zcmpi-nobody', '--ssh-key', c.userKeyPath, '--ssh-known-hosts', c.knownHostsPath,
    '--no-ssh-agent', sshFixture('exchange.ts')]);
  t.equal(r.code, 1);
  t.equal(r.stderr, `zcmpirun: error: zcmpi-nobody@${c.hosts[0].name}: authentication refused (tried key ${c.userKeyPath})\n`);
});

t.test('an unreadable --ssh-key file is an error before any connection', { skip: why }, async t => {
  const c = await createCluster({ hosts: 1 });
  t.teardown(() => c.cleanup());
  const r = await runCli(['-np', '1', '--host', hostList(c), '--ssh-key', `${c.dir}/missing_key`, '--ssh-known-hosts', c.knownHostsPath, '--no-ssh-agent', sshFixture('exchange.ts')]);
  t.equal(r.code, 1);
  t.equal(r.stderr, `zcmpirun: error: --ssh-key ${c.dir}/missing_key: cannot read key file: ENOENT\n`);
});
