// Point-to-point between ranks on different SSH hosts: after bootstrapping through the
// launcher, ranks connect to each other directly (UCX over TCP between the namespaces)
// and exchange 1 MiB messages around a ring, every element checked.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, root, runCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason() ?? (existsSync(join(root, 'runtime/index.ts')) && existsSync(join(root, 'build/Release/zcmpi.node'))
  ? undefined : 'the zcmpi runtime or its addon is not built (npm install)');

t.test('ring of isend/irecv over 3 hosts, UCX over TCP', { skip: why }, async t => {
  const c = await createCluster({ hosts: 3 });
  t.teardown(() => c.cleanup());
  const before = c.hosts.map((_, i) => c.linkBytes(i));
  // UCX would see one machine (same boot id) and use shared memory, and zcmpi's own
  // same-host single-copy would take the 1 MiB messages: make both use the network.
  const r = await runCli(['-np', '3', '--host', hostList(c), ...sshOptions(c), '-x', 'UCX_TLS=tcp', '-x', 'UCX_NET_DEVICES=all',
    '-x', 'ZCMPI_SINGLE_COPY_MIN=0',
    '--timeout', '120', sshFixture('p2p.ts')]);
  t.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr.split('\n').filter(l => !/UCX {2}WARN {2}unused env/.test(l)).join('\n')}`);
  for (let rank = 0; rank < 3; rank++) t.match(r.stdout, new RegExp(`^p2p ${rank} ok ${c.hosts[rank].name.replace(/\./g, '\\.')}$`, 'm'));
  // Each host sent its 1 MiB to the next one over its own link (the KV traffic is a few KB).
  c.hosts.forEach((h, i) => {
    const after = c.linkBytes(i);
    const sent = after.sent - before[i].sent;
    const received = after.received - before[i].received;
    t.ok(sent > 1 << 20 && received > 1 << 20, `host ${i} sent ${sent} and received ${received} bytes over the network`);
  });
  t.same(await c.waitNoneLeft(JOB_PROCESSES), []);
});
