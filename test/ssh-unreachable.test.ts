// A host that cannot be reached is a one-line error naming it, exit status 1, and nothing
// is left running on the hosts that were reachable: an address nobody answers (no route to
// host), and a host whose sshd is not running (connection refused).
import t from 'tap';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, runCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

t.test('an address nobody answers: one line naming it, exit 1', { skip: why }, async t => {
  const c = await createCluster({ hosts: 1 });
  t.teardown(() => c.cleanup());
  const r = await runCli(['-np', '2', '--host', `${hostList(c)},${c.deadAddr}`, ...sshOptions(c), '--ssh-connect-timeout', '8', sshFixture('exchange.ts')]);
  t.equal(r.code, 1);
  t.match(r.stderr, new RegExp(`^zcmpirun: error: ${c.deadAddr.replace(/\./g, '\\.')}:22: (host unreachable \\(EHOSTUNREACH\\)|connection timed out after 8 s)\\n$`));
  t.equal(r.stdout, '');
  t.ok(r.ms < 20000, `gave up in time (${r.ms} ms)`);
  t.same(c.pgrepAll(JOB_PROCESSES), [], 'nothing started on the reachable host');
  t.equal(c.pgrepIn(0, /^sshd: root/).length, 0, 'the connection to the reachable host is closed');
});

t.test('sshd not running: connection refused, naming the host', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  await c.stopHost(1);
  const r = await runCli(['-np', '2', '--host', hostList(c), ...sshOptions(c), sshFixture('exchange.ts')]);
  t.equal(r.code, 1);
  t.equal(r.stderr, `zcmpirun: error: ${c.hosts[1].name}:22: connection refused (is sshd running there?)\n`);
  t.same(c.pgrepAll(JOB_PROCESSES), []);
});

t.test('an unresolvable host name', { skip: why }, async t => {
  const c = await createCluster({ hosts: 1 });
  t.teardown(() => c.cleanup());
  const r = await runCli(['-np', '1', '--host', 'no-such-host.invalid', ...sshOptions(c), sshFixture('exchange.ts')]);
  t.equal(r.code, 1);
  t.equal(r.stderr, 'zcmpirun: error: no-such-host.invalid: cannot resolve host name\n');
});
