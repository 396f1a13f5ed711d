// The Soft-RoCE harness with two guests as two hosts (test/rdma/vm-run.sh --hosts 2): in one
// boot, guest 1 reaches guest 2 over ssh with the keys the harness made, RDMA crosses the
// virtual wire (ib_send_lat and ib_read_bw with the server on guest 2), and zcmpirun with the
// harness's --host list and SSH flags runs, over the verbs transport across both guests, a
// ring of 4 ranks and the rank-death case (a rank on guest 2 killed while the rank on guest 1
// reads its 64 MiB message: the job ends through the launcher, naming the rank and its host,
// and nothing of it is left on guest 2). The network namespace, qemu and the run directory are
// gone afterwards.
// test-timeout-s: 560
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBandwidth, parseLatency, processesMentioning, root, runVm, section, vmSkipReason } from './support/rdma-vm.js';

const why = vmSkipReason() ?? (existsSync(join(root, 'dist/launcher/cli.js')) && existsSync(join(root, 'build/Release/zcmpi.node'))
  ? undefined : 'zcmpi is not built (npm install)');
t.setTimeout(550000);

const CHECKS = String.raw`
set -u
cd "$REPO"
echo "==BEGIN env=="; echo "hosts $ZCMPI_TEST_HOSTS"; echo "opts $ZCMPI_TEST_SSH_OPTS"; echo "==END env=="
echo "==BEGIN ssh=="; ssh -F "$ZCMPI_TEST_SSH_CONFIG" rdma-vm2 'echo "on $(hostname) memlock $(ulimit -l)"; ibv_devinfo -d rxe0 | grep -E "node_guid|state"'; echo "==END ssh=="
echo "==BEGIN send_lat=="; test/rdma/perftest.sh --server-on rdma-vm2 ib_send_lat -s 2 -n 200; echo "==END send_lat=="
echo "==BEGIN read_bw=="; test/rdma/perftest.sh --server-on rdma-vm2 ib_read_bw -s 1048576 -n 20; echo "==END read_bw=="
echo "==BEGIN ring=="
node dist/launcher/cli.js -np 4 --host "$ZCMPI_TEST_HOSTS" $ZCMPI_TEST_SSH_OPTS --transport verbs \
  --timeout 200 --timeout-startup 180 test/fixtures/ssh/p2p.ts 2>&1
echo "ring status $?"
echo "==END ring=="
echo "==BEGIN death=="
start=$(date +%s)
node dist/launcher/cli.js -np 2 --host rdma-vm1:1,rdma-vm2:1 $ZCMPI_TEST_SSH_OPTS --transport verbs \
  --timeout 200 --timeout-startup 180 test/fixtures/verbs/peer-killed.ts 2>&1
echo "death status $?"
# Nothing of the job may stay on guest 2 (the launcher's wrapper ends the rank's whole group).
left=x
for i in 1 2 3 4 5 6 7 8 9 10; do
  left=$(ssh -F "$ZCMPI_TEST_SSH_CONFIG" rdma-vm2 "pgrep -fa '[f]ixtures/verbs/peer-killed|[z]cmpi-grandchild|[z]cmpi-daemon' || true")
  [ -z "$left" ] && break
  sleep 1
done
echo "left on guest 2: [$left]"
echo "death wall seconds (job and cleanup check): $(( $(date +%s) - start ))"
echo "==END death=="
`;

t.test('two guests: ssh, perftest and a zcmpirun ring across the virtual wire, in one boot', { skip: why, timeout: 540000 }, async t => {
  const work = mkdtempSync(join(tmpdir(), 'zcmpi-vm-two-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  writeFileSync(join(work, 'checks.sh'), CHECKS);
  const r = await runVm(['--hosts', '2', '--timeout', '500', 'bash', join(work, 'checks.sh')],
    { env: { ...process.env, TMPDIR: work, REPO: root }, killAfterMs: 520000 });
  t.comment(`harness run: ${(r.ms / 1000).toFixed(1)} s`);
  if (!t.equal(r.code, 0, 'the batch ends with status 0')) t.comment(`stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);

  const env = section(r.stdout, 'env');
  t.match(env, /^hosts rdma-vm1:2,rdma-vm2:2$/m, 'ZCMPI_TEST_HOSTS names both guests with 2 slots each');
  t.match(env, /^opts --ssh-user root --ssh-key \S+ --ssh-known-hosts \S+ --no-ssh-agent$/m, 'ZCMPI_TEST_SSH_OPTS has user, key, known_hosts');

  const ssh = section(r.stdout, 'ssh');
  t.match(ssh, /^on rdma-vm2 memlock unlimited$/m, 'ssh from guest 1 reaches guest 2 (host key checked), unlimited memlock there');
  t.match(ssh, /node_guid:\s+5054:00ff:fe55:0002/, 'guest 2 has its own rxe0 (GUID from its own MAC)');
  t.match(ssh, /state:\s+PORT_ACTIVE/);

  const lat = parseLatency(section(r.stdout, 'send_lat'));
  t.ok(lat && lat.bytes === 2 && lat.typicalUs > 0, `ib_send_lat 2 B guest 1 -> guest 2: ${JSON.stringify(lat)}`);
  t.match(section(r.stdout, 'send_lat'), /remote address: .*\n\s*GID: .*:10:55:00:02/, 'the remote end is guest 2 (its RoCE v2 GID)');
  const bw = parseBandwidth(section(r.stdout, 'read_bw'));
  t.ok(bw && bw.bytes === 1 << 20 && bw.avgMBs > 0, `ib_read_bw 1 MiB guest 1 <- guest 2: ${JSON.stringify(bw)}`);
  if (lat && bw) t.comment(`across two guests: ib_send_lat 2 B typical ${lat.typicalUs} us, ib_read_bw 1 MiB ${bw.avgMBs} MB/s`);

  const ring = section(r.stdout, 'ring');
  t.match(ring, /^ring status 0$/m, 'zcmpirun --transport verbs over both guests exits 0');
  for (let rank = 0; rank < 4; rank++) {
    t.match(ring, new RegExp(`^p2p ${rank} ok rdma-vm${rank < 2 ? 1 : 2}$`, 'm'), `rank ${rank} ran on guest ${rank < 2 ? 1 : 2} and got its neighbours' 1 MiB over verbs`);
  }
  if (!ring.includes('ring status 0')) t.comment(ring);

  const death = section(r.stdout, 'death');
  t.match(death, /^rank 1 dies now$/m, 'the rank on guest 2 died while its 64 MiB message was being read');
  t.match(death, /^zcmpirun: rank 1 \(host rdma-vm2, pid \d+\) was killed by SIGKILL; ending the job$/m,
    'the launcher ends the job naming the rank and its host');
  t.match(death, /^death status 137$/m, 'zcmpirun exits with the dead rank\'s status (128 + SIGKILL)');
  t.notMatch(death, /ran longer than --timeout/, 'the job ends through the rank death, not a timeout');
  t.match(death, /^left on guest 2: \[\]$/m, 'nothing of the job is left on guest 2');
  if (!/death status 137/.test(death)) t.comment(death);

  t.same(readdirSync(work).filter(f => f.startsWith('zcmpi-rdma-vm.')), [], 'the run directory is removed');
  t.same(processesMentioning(work), [], 'no qemu or reader of the run is left');
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  t.notMatch(namespaces, new RegExp(`^zcrvm-${r.pid}\\b`, 'm'), `the run's network namespace zcrvm-${r.pid} is deleted`);
});
