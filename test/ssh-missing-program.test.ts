// The program exists here but not on a host (its directory is hidden on that host): the
// launcher says which rank on which host and why in one line, exits 1, and nothing is
// left on any host. Same for a working directory that is missing there.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { cliPath, hostList, JOB_PROCESSES, launcherLines, runCli, sshFixture, sshOptions, tsxLoader } from './support/ssh-cli.js';

const why = skipReason();
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

t.test('program missing on host 1: one line naming rank, host and path', { skip: why }, async t => {
  const dir = mkdtempSync(join(tmpdir(), 'zcmpi-hidden-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const prog = join(dir, 'prog.mjs');
  writeFileSync(prog, 'console.log("ready"); setInterval(() => {}, 1000);\n');
  const c = await createCluster({ hosts: 2, hide: { 1: [dir] } });
  t.teardown(() => c.cleanup());
  const r = await runCli(['-np', '4', '--host', hostList(c, 2), ...sshOptions(c), prog]);
  t.equal(r.code, 1);
  const first = launcherLines(r.stderr)[0];
  t.match(first, new RegExp(`^zcmpirun: cannot start rank [23] on host ${esc(c.hosts[1].name)}: program not found: ${esc(prog)}; ending the job$`));
  t.same(await c.waitNoneLeft(new RegExp(`${JOB_PROCESSES.source}|${esc(prog)}`), 10000), [], 'nothing left on either host');
});

t.test('working directory missing on the host', { skip: why }, async t => {
  // The host sees an empty directory over `dir`, so `dir/work` does not exist there.
  const dir = mkdtempSync(join(tmpdir(), 'zcmpi-hidden-cwd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const work = join(dir, 'work');
  mkdirSync(work);
  const c = await createCluster({ hosts: 1, hide: { 0: [dir] } });
  t.teardown(() => c.cleanup());
  // Ranks start in the launcher's working directory: run the launcher from the hidden one.
  const r = await new Promise<{ code: number | null; stderr: string }>(resolve => {
    const ch = spawn(process.execPath, ['--import', tsxLoader, cliPath, '-np', '1', '--host', hostList(c), ...sshOptions(c), sshFixture('exchange.ts')],
      { cwd: work, env: { ...process.env, SSH_AUTH_SOCK: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    ch.stderr.on('data', d => { stderr += d; });
    ch.on('close', code => resolve({ code, stderr }));
  });
  t.equal(r.code, 1);
  t.match(r.stderr, new RegExp(`^zcmpirun: cannot start rank 0 on host ${esc(c.hosts[0].name)}: cannot change to working directory ${esc(work)}; ending the job$`, 'm'));
});

t.test('node missing on the host (--node names a path that is not there)', { skip: why }, async t => {
  const c = await createCluster({ hosts: 1 });
  t.teardown(() => c.cleanup());
  const r = await runCli(['-np', '1', '--host', hostList(c), ...sshOptions(c), '--node', '/opt/zcmpi-no-node/bin/node', sshFixture('exchange.ts')]);
  t.equal(r.code, 1);
  t.match(r.stderr, new RegExp(`^zcmpirun: cannot start rank 0 on host ${esc(c.hosts[0].name)}: node not found: /opt/zcmpi-no-node/bin/node \\(PATH=[^)]*\\); install Node.js there or use --node PATH; ending the job$`, 'm'));
});
