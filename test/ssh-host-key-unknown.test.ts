// A host whose key is not in known_hosts is refused: one line naming the host and the
// key's SHA256 fingerprint, exit status 1, nothing started anywhere, known_hosts untouched.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, runCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

t.test('unknown host key: refused with the host and fingerprint', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  // known_hosts knows host 0 only.
  const kh = `${c.dir}/known_hosts_partial`;
  writeFileSync(kh, `${c.hosts[0].name} ${c.hosts[0].hostKeyPub}\n`);
  const r = await runCli(['-np', '2', '--host', hostList(c), ...sshOptions(c, kh), sshFixture('exchange.ts')]);
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  const h = c.hosts[1];
  t.equal(r.stderr, `zcmpirun: error: ${h.name}: unknown host key ED25519 ${h.hostKeyFingerprint} (not in ${kh}); ` +
    'refusing to connect (add it to known_hosts or use --ssh-accept-new)\n');
  t.equal(readFileSync(kh, 'utf8'), `${c.hosts[0].name} ${c.hosts[0].hostKeyPub}\n`, 'known_hosts unchanged');
  t.same(c.pgrepAll(JOB_PROCESSES), [], 'no rank started on any host');
});

t.test('a missing known_hosts file counts as empty', { skip: why }, async t => {
  const c = await createCluster({ hosts: 1 });
  t.teardown(() => c.cleanup());
  const r = await runCli(['-np', '1', '--host', hostList(c), ...sshOptions(c, `${c.dir}/nonexistent/known_hosts`), sshFixture('exchange.ts')]);
  t.equal(r.code, 1);
  t.match(r.stderr, new RegExp(`^zcmpirun: error: ${c.hosts[0].name.replace(/\./g, '\\.')}: unknown host key ED25519 SHA256:\\S+ \\(not in .*nonexistent/known_hosts\\)`));
  t.equal(r.stderr.split('\n').length, 2, 'one line');
});
