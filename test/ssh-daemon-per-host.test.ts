// Across hosts a compiled TypeScript program runs through one daemon per host: 3 ranks on
// each of 2 hosts make 2 daemons (one login shell each), every rank runs the compiled
// bundle on plain node (no tsx), and a host that cannot see the launcher's compile cache
// (hidden there) gets the bundle through its channel and runs its own copy.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, JOB_PROCESSES, startCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

t.test('2 hosts x 3 ranks: 2 daemons; the host without the cache runs a shipped copy', { skip: why }, async t => {
  const cache = mkdtempSync(join(tmpdir(), 'zcmpi-daemon-cache-'));
  t.teardown(() => rmSync(cache, { recursive: true, force: true }));
  const c = await createCluster({ hosts: 2, hide: { 1: [cache] } });
  t.teardown(() => c.cleanup());
  const run = startCli(['-np', '6', '--host', hostList(c, 3), ...sshOptions(c), sshFixture('hang.ts')],
    { env: { ...process.env, SSH_AUTH_SOCK: '', ZCMPI_CACHE_DIR: cache } });
  t.teardown(() => { run.child.kill('SIGKILL'); });
  await run.waitFor(/^ready \d+ \d+$/m, 6);
  for (const i of [0, 1]) {
    t.equal(c.pgrepIn(i, /^\S*node -e [\s\S]* zcmpi-daemon \d+$/).length, 1, `one daemon on host ${i}`);
  }
  const ranks = (i: number) => c.pgrepIn(i, /^\S*node --enable-source-maps \S+hang\.ts\.mjs$/);
  t.equal(ranks(0).length, 3, 'host 0: three ranks on plain node with source maps');
  t.equal(ranks(1).length, 3, 'host 1: three ranks');
  t.ok(ranks(0).every(p => p.cmdline.includes(`${cache}/bundles/`)), 'host 0 sees the launcher\'s cache and runs that file');
  t.ok(ranks(1).every(p => p.cmdline.includes('/zcmpi-bundles-')), 'host 1 runs the copy its daemon stored');
  t.same(c.pgrepAll(/tsx/), [], 'no tsx anywhere');
  run.child.kill('SIGINT');
  const r = await run.exited;
  t.equal(r.code, 130, r.stderr);
  t.same(await c.waitNoneLeft(JOB_PROCESSES, 10000), [], 'nothing left on either host');
});
