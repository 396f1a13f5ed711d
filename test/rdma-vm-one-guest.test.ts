// The Soft-RoCE harness with one guest (test/rdma/vm-run.sh): one boot runs a batch of checks
// (rxe0 active with the RoCE v2 GID, perftest over rxe loopback, node runs, the environment,
// working directory, host filesystem, overlay and limits as promised) and passes the
// command's stdout, stderr and exit status back; a second run shows the hard timeout.
// Nothing of either run may be left behind.
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBandwidth, parseLatency, processesMentioning, root, runVm, section, vmSkipReason } from './support/rdma-vm.js';

const why = vmSkipReason();
t.setTimeout(290000);

const CHECKS = String.raw`
set -u
echo "==BEGIN devinfo=="; ibv_devinfo -v -d rxe0; echo "==END devinfo=="
echo "==BEGIN send_lat=="; "$REPO/test/rdma/perftest.sh" ib_send_lat -s 2 -n 300; echo "==END send_lat=="
echo "==BEGIN read_bw=="; "$REPO/test/rdma/perftest.sh" ib_read_bw -s 1048576 -n 40; echo "==END read_bw=="
echo "==BEGIN node=="
node -e '
  const fs = require("fs");
  fs.writeFileSync("from-guest.txt", "written in the guest\n");
  fs.writeFileSync("/etc/zcmpi-overlay-" + process.env.MARK, "x");
  console.log(JSON.stringify({
    value: process.env.ZCMPI_VMTEST_VALUE,
    cwd: process.cwd(),
    input: fs.readFileSync("input.txt", "utf8"),
    overlay: fs.readFileSync("/etc/zcmpi-overlay-" + process.env.MARK, "utf8"),
  }));'
echo "==END node=="
echo "==BEGIN misc=="
echo "memlock $(ulimit -l)"
echo "package $(sha256sum "$REPO/package.json" | cut -d" " -f1)"
echo "hostname $(hostname)"
echo "==END misc=="
echo "to stderr $MARK" >&2
exit 42
`;

t.test('one guest: rxe0, perftest loopback, env/cwd/fs/status passthrough in one boot', { skip: why, timeout: 280000 }, async t => {
  const work = mkdtempSync(join(tmpdir(), 'zcmpi-vm-one-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const mark = `${process.pid}-${Date.now()}`;
  writeFileSync(join(work, 'input.txt'), 'made on the host\n');
  writeFileSync(join(work, 'checks.sh'), CHECKS);
  const value = `it's "quoted" $HOME \\ back\nsecond line ü`;
  const env = { ...process.env, TMPDIR: work, REPO: root, MARK: mark, ZCMPI_VMTEST_VALUE: value };
  const r = await runVm(['--timeout', '240', 'bash', 'checks.sh'], { cwd: work, env });
  t.comment(`harness run: ${(r.ms / 1000).toFixed(1)} s`);
  if (!t.equal(r.code, 42, "the command's exit status comes back")) t.comment(`stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);

  const devinfo = section(r.stdout, 'devinfo');
  t.match(devinfo, /hca_id:\s+rxe0/, 'rxe0 exists');
  t.match(devinfo, /state:\s+PORT_ACTIVE/, 'its port is active');
  t.match(devinfo, /active_mtu:\s+4096/, 'active MTU 4096 (netdev MTU 9000)');
  t.match(devinfo, /GID\[\s*1\]:\s+::ffff:10\.55\.0\.1, RoCE v2/, 'GID 1 is the IPv4-mapped RoCE v2 entry');

  const lat = parseLatency(section(r.stdout, 'send_lat'));
  t.ok(lat && lat.bytes === 2 && lat.iterations === 300 && lat.typicalUs > 0, `ib_send_lat 2 B over rxe loopback: ${JSON.stringify(lat)}`);
  const bw = parseBandwidth(section(r.stdout, 'read_bw'));
  t.ok(bw && bw.bytes === 1 << 20 && bw.avgMBs > 0, `ib_read_bw 1 MiB over rxe loopback: ${JSON.stringify(bw)}`);
  if (lat && bw) t.comment(`rxe loopback: ib_send_lat 2 B typical ${lat.typicalUs} us, ib_read_bw 1 MiB ${bw.avgMBs} MB/s`);

  let seen: Record<string, string> = {};
  try { seen = JSON.parse(section(r.stdout, 'node')); } catch { t.fail(`node's report is not JSON: ${section(r.stdout, 'node')}`); }
  t.equal(seen.value, value, 'an exported variable arrives byte for byte (quotes, $, backslash, newline, UTF-8)');
  t.equal(seen.cwd, work, 'same working directory path');
  t.equal(seen.input, 'made on the host\n', 'host files are visible at the same paths');
  t.equal(readFileSync(join(work, 'from-guest.txt'), 'utf8'), 'written in the guest\n', 'the working directory is shared read-write');
  t.equal(seen.overlay, 'x', 'the rest of the root is writable in the guest');
  t.notOk(existsSync(`/etc/zcmpi-overlay-${mark}`), '... and those writes stay in the guest');

  const misc = section(r.stdout, 'misc');
  t.match(misc, /^memlock unlimited$/m, 'no limit on locked memory (registration pins pages)');
  const pkg = createHash('sha256').update(readFileSync(join(root, 'package.json'))).digest('hex');
  t.match(misc, new RegExp(`^package ${pkg}$`, 'm'), 'a host file outside the working directory reads the same');
  t.match(misc, /^hostname rdma-vm1$/m);
  t.match(r.stderr, new RegExp(`^to stderr ${mark}$`, 'm'), 'stderr comes back on stderr');
  t.notMatch(r.stdout, 'to stderr', '... and not on stdout');

  t.same(readdirSync(work).filter(f => f.startsWith('zcmpi-rdma-vm.')), [], 'the run directory is removed');
  t.same(processesMentioning(work), [], 'no process of the run is left');
});

t.test('the hard timeout stops the guest: status 124, nothing left', { skip: why, timeout: 120000 }, async t => {
  const work = mkdtempSync(join(tmpdir(), 'zcmpi-vm-timeout-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const r = await runVm(['--timeout', '3', 'sleep', '600'], { env: { ...process.env, TMPDIR: work }, killAfterMs: 60000 });
  t.equal(r.code, 124, r.stderr);
  t.match(r.stderr, 'rdma-vm: timed out after 3s (--timeout)');
  t.ok(r.ms < 30000, `ended ${r.ms} ms after it started`);
  t.same(readdirSync(work), [], 'the run directory is removed');
  t.same(processesMentioning(work), [], 'qemu and the output readers are gone');
});

t.test('bad options are refused before anything boots', { skip: why }, async t => {
  for (const [args, msg] of [
    [['--hosts', '0', 'true'], "--hosts: expected a number of guests from 1 to 8, got '0'"],
    [['--timeout', 'soon', 'true'], "--timeout: expected a positive number of seconds, got 'soon'"],
    [['--bogus', 'true'], 'unknown option --bogus'],
    [[], 'usage: test/rdma/vm-run.sh'],
  ] as const) {
    const r = await runVm([...args], { killAfterMs: 30000 });
    t.equal(r.code, 125, `${args.join(' ')}: status 125`);
    t.match(r.stderr, msg, `${args.join(' ')}: says what is wrong`);
  }
});
