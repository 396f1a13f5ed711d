// With no --ssh-key, zcmpirun authenticates through the SSH agent (SSH_AUTH_SOCK) and
// checks host keys against ~/.ssh/known_hosts; --no-ssh-agent turns the agent off.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, runCli, sshFixture } from './support/ssh-cli.js';

const why = skipReason();

t.test('agent authentication and the default known_hosts file', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  // A home of our own: its .ssh has the cluster's known_hosts and no identity files.
  const home = mkdtempSync(join(tmpdir(), 'zcmpi-home-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  copyFileSync(c.knownHostsPath, join(home, '.ssh', 'known_hosts'));
  const sock = join(home, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  t.teardown(() => { agent.kill('SIGKILL'); });
  for (let i = 0; i < 100; i++) {
    try { execFileSync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'pipe' }); break; } catch (e) {
      if ((e as { status?: number }).status === 1) break; // agent up, no identities yet
      await new Promise(r => setTimeout(r, 50));
    }
  }
  execFileSync('ssh-add', [c.userKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'pipe' });
  const env = { ...process.env, HOME: home, SSH_AUTH_SOCK: sock };
  const r = await runCli(['-np', '2', '--host', hostList(c), '--ssh-user', 'root', sshFixture('exchange.ts')], { env });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.trim().split('\n').length, 2, 'both ranks ran');
  const off = await runCli(['-np', '1', '--host', hostList(c), '--ssh-user', 'root', '--no-ssh-agent', sshFixture('exchange.ts')], { env });
  t.equal(off.code, 1);
  t.equal(off.stderr, `zcmpirun: error: root@${c.hosts[0].name}: authentication refused (tried no keys (give --ssh-key FILE or start ssh-agent))\n`);
});
