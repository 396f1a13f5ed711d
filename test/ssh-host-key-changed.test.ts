// A host whose key differs from the one in known_hosts is refused, naming the host, the
// offered fingerprint and the recorded one with its file:line; --ssh-accept-new does not
// change that (it accepts unknown keys only).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, runCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

t.test('changed host key: refused, also with --ssh-accept-new', { skip: why }, async t => {
  const c = await createCluster({ hosts: 1 });
  t.teardown(() => c.cleanup());
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${c.dir}/impostor`]);
  const impostor = readFileSync(`${c.dir}/impostor.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const impostorFp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${c.dir}/impostor.pub`], { encoding: 'utf8' }).split(/\s+/)[1];
  const kh = `${c.dir}/known_hosts_changed`;
  const text = `# recorded earlier\n${c.hosts[0].name} ${impostor}\n`;
  writeFileSync(kh, text);
  const h = c.hosts[0];
  const expected = `zcmpirun: error: ${h.name}: host key has CHANGED: it offers ED25519 ${h.hostKeyFingerprint} but known_hosts has ` +
    `ED25519 ${impostorFp} (${kh}:2); refusing to connect (possible man-in-the-middle; remove the old key if the change is expected)\n`;
  for (const extra of [[], ['--ssh-accept-new']]) {
    const r = await runCli(['-np', '1', '--host', hostList(c), ...sshOptions(c, kh), ...extra, sshFixture('exchange.ts')]);
    t.equal(r.code, 1, `exit 1 ${extra.join(' ')}`);
    t.equal(r.stderr, expected, `one line naming host and both fingerprints ${extra.join(' ')}`);
    t.equal(readFileSync(kh, 'utf8'), text, 'known_hosts unchanged');
  }
  t.same(c.pgrepAll(JOB_PROCESSES), [], 'nothing started');
});
