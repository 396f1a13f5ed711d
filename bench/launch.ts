// Launch-to-finalize of a trivial 4-rank job (bootstrap + one fence, then exit):
//   - 4 bare `node -e 0` processes started in parallel (the floor),
//   - locally through the job controller (ranks as .mjs and as .ts, compiled once by the
//     job into the compile cache: warm after the first round),
//   - the whole `zcmpirun -np 4` command as a user runs it,
//   - over SSH to network-namespace hosts (needs root): 2 hosts x 2 ranks and
//     1 host x 4 ranks, with the time split into phases (TCP connect, SSH handshake +
//     authentication, exec -> the host's daemon running (login shell + its node, once per
//     host), start request -> rank running, rank node startup, KV fence, teardown).
// Usage: node --import tsx bench/launch.ts [--runs N]     (default 7 runs, median shown)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Job } from '../launcher/job.js';
import { LocalStarter } from '../launcher/local-starter.js';
import type { HostStarter } from '../launcher/rank-starter.js';
import { resolveAuth } from '../launcher/ssh/auth.js';
import { connectSsh } from '../launcher/ssh/connection.js';
import { SshStarter } from '../launcher/ssh/ssh-starter.js';
import { createCluster, skipReason, type Cluster } from '../test/support/netns-cluster.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;
const NP = 4;
const now = () => performance.timeOrigin + performance.now();
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

interface RankTimes { rank: number; origin: number; connected: number; fenced: number }

// A JavaScript copy of the trivial rank, importing compiled zcmpi (dist/, or a private
// build when dist/ is missing), so its time is not tsx's.
const scratch = mkdtempSync(join(tmpdir(), 'zcmpi-bench-launch-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
function jsRank(): string {
  let bootstrap = join(root, 'dist/runtime/bootstrap.js');
  if (!existsSync(bootstrap)) {
    const out = join(scratch, 'build');
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--outDir', out, '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
      '--target', 'ES2022', '--skipLibCheck', '--types', 'node', join(root, 'runtime/bootstrap.ts')], { stdio: 'inherit' });
    writeFileSync(join(out, 'package.json'), '{"type":"module"}');
    bootstrap = join(out, 'bootstrap.js');
  }
  const file = join(scratch, 'launch-rank.mjs');
  writeFileSync(file, `import { connectKv, readJobInfo } from ${JSON.stringify(pathToFileURL(bootstrap).href)};
const origin = performance.timeOrigin;
const info = readJobInfo();
const kv = await connectKv(info);
const connected = performance.timeOrigin + performance.now();
await kv.fence();
const fenced = performance.timeOrigin + performance.now();
kv.close();
if (process.env.ZCMPI_BENCH_TIMES === '1') console.log('times ' + JSON.stringify({ rank: info.rank, origin, connected, fenced }));
`);
  return file;
}

function bareNode(): Promise<number> {
  const t0 = now();
  return Promise.all(Array.from({ length: NP }, () => new Promise<void>((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    c.on('exit', code => (code === 0 ? resolve() : reject(new Error(`node -e 0 exited ${code}`))));
  }))).then(() => now() - t0);
}

async function runJob(placement: HostStarter[], program: string): Promise<{ ms: number; start: number; end: number; times: RankTimes[] }> {
  let out = '';
  const sink = new Writable({ write(c, _e, cb) { out += c; cb(); } });
  const errs: string[] = [];
  const start = now();
  const job = new Job({
    placement, program, cwd: root, env: { ZCMPI_BENCH_TIMES: '1' }, stdout: sink,
    stderr: new Writable({ write(c, _e, cb) { errs.push(String(c)); cb(); } }),
    log: line => errs.push(line),
    kvHost: placement.some(s => s.bootstrapAddress !== undefined) ? '0.0.0.0' : undefined,
  });
  const r = await job.run();
  const end = now();
  if (r.exitCode !== 0) throw new Error(`job failed (${r.exitCode}): ${errs.join('\n')}`);
  const times = [...out.matchAll(/^times (.*)$/gm)].map(m => JSON.parse(m[1]) as RankTimes);
  return { ms: end - start, start, end, times };
}

function cliRun(program: string): Promise<number> {
  const dist = join(root, 'dist/launcher/cli.js');
  const args = existsSync(dist) ? [dist] : ['--import', 'tsx', join(root, 'launcher/cli.ts')];
  const t0 = now();
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [...args, '-np', String(NP), program], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', d => { err += d; });
    c.on('exit', code => (code === 0 ? resolve(now() - t0) : reject(new Error(`zcmpirun exited ${code}: ${err}`))));
  });
}

// Every configuration runs once per round, rounds repeat RUNS times: on a shared, noisy
// machine the load then hits all of them alike and their ratios stay meaningful.
interface Phases { total: number; tcp: number; auth: number; daemon: number; exec: number; spawn: number; startup: number; fence: number; teardown: number }
interface Config { name: string; run: () => Promise<number | Phases> }

async function sshRun(c: Cluster, hostsUsed: number, program: string): Promise<Phases> {
  const auth = resolveAuth({ keyFiles: [c.userKeyPath], agent: null });
  const t0 = now();
  const starters = await Promise.all(Array.from({ length: hostsUsed }, (_, i) => SshStarter.connect({
    host: c.hosts[i].name, user: 'root', auth, knownHostsFile: c.knownHostsPath,
  })));
  const perHost = NP / hostsUsed;
  const placement = Array.from({ length: NP }, (_, r) => starters[Math.floor(r / perHost)]);
  const r = await runJob(placement, program);
  const byRank = (f: (rank: number, s: SshStarter, t: RankTimes) => number) => median(r.times.map(t => f(t.rank, placement[t.rank] as SshStarter, t)));
  return {
    total: r.end - t0,
    tcp: median(starters.map(s => s.timing.tcpMs)),
    auth: median(starters.map(s => s.timing.handshakeMs)),
    daemon: median(starters.map(s => s.timing.daemonMs)),
    exec: byRank((rank, s) => s.timing.startedAt[rank] - s.timing.execSentAt[rank]),
    spawn: byRank((rank, s, t) => t.origin - s.timing.startedAt[rank]),
    startup: byRank((_r, _s, t) => t.connected - t.origin),
    fence: byRank((_r, _s, t) => t.fenced - t.connected),
    teardown: r.end - Math.max(...r.times.map(t => t.fenced)),
  };
}

const js = jsRank();
const ts = join(root, 'bench/launch-rank.ts');
const configs: Config[] = [
  { name: `bare: ${NP} x node -e 0, parallel`, run: bareNode },
  { name: `local: job controller, ${NP} ranks .mjs`, run: async () => (await runJob(Array(NP).fill(new LocalStarter()), js)).ms },
  { name: `local: job controller, ${NP} ranks .ts (compiled)`, run: async () => (await runJob(Array(NP).fill(new LocalStarter()), ts)).ms },
  { name: `local: zcmpirun -np ${NP} .mjs (whole command)`, run: () => cliRun(js) },
];

const why = skipReason();
let cluster: Cluster | null = null;
let conn: Awaited<ReturnType<typeof connectSsh>> | null = null;
if (why) {
  console.log(`# SSH part skipped: ${why}`);
} else {
  cluster = await createCluster({ hosts: 2 });
  const c = cluster;
  // Reference: one exec channel that runs `true` / `node -e 0` (sshd session + the remote
  // login shell, which sources the user's rc files), one at a time on one connection.
  conn = await connectSsh({
    host: c.hosts[0].name, port: 22, username: 'root', auth: resolveAuth({ keyFiles: [c.userKeyPath], agent: null }),
    knownHostsFile: c.knownHostsPath, acceptNew: false, timeoutMs: 20000, keepaliveIntervalMs: 0, keepaliveCountMax: 3, warn: () => {},
  });
  const client = conn.client;
  const execOnce = (cmd: string) => new Promise<number>((resolve, reject) => {
    const t0 = now();
    client.exec(cmd, (err, ch) => {
      if (err) return reject(err);
      ch.resume();
      ch.stderr.resume();
      ch.on('close', () => resolve(now() - t0));
    });
  });
  // What the remote login shell costs by itself: bash run as sshd runs it for a
  // command (SSH_CLIENT set, SHLVL unset) sources ~/.bashrc; the same without.
  const shell = (rc: boolean) => new Promise<number>((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.SHLVL;
    if (rc) env.SSH_CLIENT = '10.0.0.1 1 22'; else delete env.SSH_CLIENT;
    const t0 = now();
    const ch = spawn('bash', ['-c', 'true'], { env, stdio: 'ignore' });
    ch.on('exit', code => (code === 0 ? resolve(now() - t0) : reject(new Error(`bash exited ${code}`))));
  });
  configs.push(
    { name: 'ssh: one exec channel running `true`', run: () => execOnce('true') },
    { name: 'ssh: one exec channel running `node -e 0`', run: () => execOnce('node -e 0') },
    { name: 'here: bash -c true as sshd runs it (~/.bashrc)', run: () => shell(true) },
    { name: 'here: bash -c true without rc files', run: () => shell(false) },
    { name: `ssh: 2 hosts x ${NP / 2} ranks .mjs`, run: () => sshRun(c, 2, js) },
    { name: `ssh: 1 host x ${NP} ranks .mjs`, run: () => sshRun(c, 1, js) },
    { name: `ssh: 2 hosts x ${NP / 2} ranks .ts (compiled)`, run: () => sshRun(c, 2, ts) },
  );
}

const results = new Map<Config, (number | Phases)[]>(configs.map(c => [c, []]));
try {
  for (const cfg of configs) await cfg.run(); // warm the page cache, the JIT, sshd
  for (let i = 0; i < RUNS; i++) {
    for (const cfg of configs) results.get(cfg)!.push(await cfg.run());
  }
} finally {
  conn?.client.end();
  await cluster?.cleanup();
}

const rows: [string, number, number][] = [];
const phaseRows: [string, Phases][] = [];
for (const cfg of configs) {
  const xs = results.get(cfg)!;
  if (typeof xs[0] === 'number') {
    const ns = xs as number[];
    rows.push([cfg.name, median(ns), Math.min(...ns)]);
  } else {
    const ps = xs as Phases[];
    const med = Object.fromEntries(Object.keys(ps[0]).map(k => [k, median(ps.map(p => p[k as keyof Phases]))])) as unknown as Phases;
    rows.push([cfg.name, med.total, Math.min(...ps.map(p => p.total))]);
    phaseRows.push([cfg.name, med]);
  }
}

const pad = (s: string, n: number) => s.padEnd(n);
const num = (x: number) => x.toFixed(1).padStart(9);
console.log(`# Launch-to-finalize of a trivial ${NP}-rank job (connect to KV + 1 fence), ${RUNS} runs, ms`);
console.log(`# ${pad('What', 46)} ${'median'.padStart(9)} ${'min'.padStart(9)}`);
for (const [n, med, min] of rows) console.log(`  ${pad(n, 46)} ${num(med)} ${num(min)}`);
const bare = rows[0][1];
console.log(`# ratio local job (.mjs) / bare node: ${(rows[1][1] / bare).toFixed(2)}x; whole zcmpirun command / bare: ${(rows[3][1] / bare).toFixed(2)}x`);
if (phaseRows.length) {
  console.log('# SSH phases (median ms; exec..fence are per rank, medians over ranks):');
  console.log(`# ${pad('Job', 34)}${['tcp', 'handshake+auth', 'exec->daemon', 'request->rank', 'node+KV connect', 'fence wait', 'teardown'].map(h => h.padStart(16)).join('')}`);
  for (const [n, p] of phaseRows) {
    console.log(`  ${pad(n, 34)}${[p.tcp, p.auth, p.daemon, p.exec, p.startup, p.fence, p.teardown].map(x => x.toFixed(1).padStart(16)).join('')}`);
  }
  const two = phaseRows[0][1];
  console.log(`# per host: one connection, tcp + handshake + auth = ${(two.tcp + two.auth).toFixed(1)} ms (hosts connect in parallel)`);
  console.log(`# per host, once: exec channel -> daemon running ${two.daemon.toFixed(1)} ms (login shell + node)`);
  console.log(`# per rank: start request -> rank running ${two.exec.toFixed(1)} ms (includes waiting for the daemon) + node start and KV connect ${two.startup.toFixed(1)} ms`);
}
