// Unit (quote.ts, frames.ts, remote-command.ts; no SSH): the command that starts a host's
// daemon survives a real POSIX shell (dash), never carries the secret, and the daemon it
// runs reads the secret from stdin, starts ranks on request with exact argv and a clean
// environment, sends back their output and exit statuses, forwards stdin and signals,
// stores a shipped compiled program, and ends every rank when its launcher goes away (end
// of file, parent gone, no heartbeat).
import t from 'tap';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shQuote } from '../launcher/ssh/quote.js';
import {
  ALL_RANKS, encodeBundle, encodeData, encodeFrame, encodeRankFrame, FrameDecoder, FRAME_DATA, FRAME_EOF, FRAME_EXIT, FRAME_FAILED,
  FRAME_HEARTBEAT, FRAME_KILL, FRAME_START, FRAME_STARTED, FRAME_STDERR, FRAME_STDOUT, MAX_FRAME,
} from '../launcher/ssh/frames.js';
import { buildDaemonCommand, DAEMON_MARK, FAILED_MARK, type RankStartRequest } from '../launcher/ssh/remote-command.js';

const dir = mkdtempSync(join(tmpdir(), 'zcmpi-rc-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const nasty = ['plain', '', ' ', 'a b', "it's", '"dq"', '$HOME', '`id`', '$(id)', 'a\\b', '*', '-x', '--', 'new\nline', 'tab\there', 'üñí', ';exit 1;', "'", "''", '!x', '~'];

t.test('shQuote: every word comes back unchanged through /bin/sh', async t => {
  const cmd = `printf '%s\\0' ${nasty.map(shQuote).join(' ')}`;
  const r = await new Promise<string>(resolve => {
    const c = spawn('/bin/sh', ['-c', cmd]);
    let out = '';
    c.stdout.on('data', d => { out += d; });
    c.on('close', () => resolve(out));
  });
  t.same(r.split('\0').slice(0, -1), nasty);
  t.throws(() => shQuote('a\0b'), /NUL/);
  t.equal(shQuote('/abs/path-1.ts'), '/abs/path-1.ts', 'safe words stay readable');
});

t.test('frames round-trip; large stdin data is split; rank frames carry their rank', async t => {
  const dec = new FrameDecoder();
  const big = Buffer.alloc(MAX_FRAME * 2 + 5, 7);
  const wire = Buffer.concat([...encodeData(3, big), encodeRankFrame(FRAME_EOF, 3), encodeRankFrame(FRAME_KILL, ALL_RANKS, 'SIGTERM'), encodeFrame(FRAME_HEARTBEAT)]);
  const got = [];
  for (let i = 0; i < wire.length; i += 1000) got.push(...dec.push(wire.subarray(i, i + 1000)));
  t.same(got.map(f => f.type), [FRAME_DATA, FRAME_DATA, FRAME_DATA, FRAME_EOF, FRAME_KILL, FRAME_HEARTBEAT]);
  t.ok(got.slice(0, 4).every(f => f.payload.readUInt32BE(0) === 3), 'the rank leads each payload');
  t.equal(Buffer.concat(got.filter(f => f.type === FRAME_DATA).map(f => f.payload.subarray(4))).equals(big), true);
  t.equal(got[4].payload.readUInt32BE(0), ALL_RANKS);
  t.equal(got[4].payload.subarray(4).toString(), 'SIGTERM');
});

const prog = join(dir, 'prog.mjs');
writeFileSync(prog, `
import { writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
const mode = process.argv[2];
writeFileSync(${JSON.stringify(dir)} + '/pid-' + mode + '-' + process.env.ZCMPI_RANK, String(process.pid));
if (mode === 'echo') {
  console.log(JSON.stringify({ argv: process.argv.slice(3), env: process.env, cwd: process.cwd() }));
  console.error('to stderr');
} else if (mode === 'exit') {
  process.exit(Number(process.argv[3]));
} else if (mode === 'stdin') {
  let s = ''; process.stdin.on('data', d => { s += d; }); process.stdin.on('end', () => { console.log('stdin:' + s); });
} else if (mode === 'wait') {
  process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(7); });
  if (process.argv[3] === 'child') {
    const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'zcmpi-grandchild'], { stdio: 'ignore' });
    writeFileSync(${JSON.stringify(dir)} + '/grandchild-' + process.env.ZCMPI_RANK, String(c.pid));
  }
  console.log('waiting'); setInterval(() => {}, 1000);
}
`);

interface Exit { code: number | null; signal: string | null }
interface RankView { pid?: number; failed?: string; out: string; err: string; exit?: Exit }

/** A daemon run through /bin/sh as sshd would, speaking the protocol. */
class Daemon {
  readonly c: ChildProcessWithoutNullStreams;
  readonly ranks = new Map<number, RankView>();
  stderr = '';
  preamble = '';
  ready = false;
  private readonly dec = new FrameDecoder();
  private listeners = new Set<() => void>();
  readonly exit: Promise<Exit>;

  constructor(command: string, secret = 's3cr3t', shellWrap = (cmd: string) => cmd) {
    this.c = spawn('/bin/sh', ['-c', shellWrap(command)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.c.stdin.on('error', () => {});
    this.c.stderr.on('data', d => { this.stderr += d; this.notify(); });
    let head = Buffer.alloc(0);
    this.c.stdout.on('data', (d: Buffer) => {
      if (!this.ready) {
        head = Buffer.concat([head, d]);
        const nl = head.indexOf(10);
        if (nl < 0) return;
        this.preamble = head.subarray(0, nl).toString();
        this.ready = true;
        d = head.subarray(nl + 1);
      }
      for (const f of this.dec.push(d)) this.onFrame(f.type, f.payload);
      this.notify();
    });
    this.exit = new Promise(resolve => this.c.on('exit', (code, signal) => { resolve({ code, signal }); this.notify(); }));
    this.c.stdin.write(secret + '\n');
  }

  private notify() { for (const l of [...this.listeners]) l(); }

  private onFrame(type: number, p: Buffer) {
    const rank = p.readUInt32BE(0);
    const rest = p.subarray(4);
    const v = this.ranks.get(rank) ?? { out: '', err: '' };
    this.ranks.set(rank, v);
    if (type === FRAME_STARTED) v.pid = Number(rest.toString());
    else if (type === FRAME_FAILED) v.failed = rest.toString();
    else if (type === FRAME_STDOUT) v.out += rest.toString();
    else if (type === FRAME_STDERR) v.err += rest.toString();
    else if (type === FRAME_EXIT) v.exit = JSON.parse(rest.toString()) as Exit;
  }

  until<T>(check: () => T | undefined | false, ms = 15000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.listeners.delete(l); reject(new Error(`timed out; stderr: ${this.stderr}`)); }, ms);
      const l = () => {
        const v = check();
        if (v !== undefined && v !== false) { clearTimeout(timer); this.listeners.delete(l); resolve(v); }
      };
      this.listeners.add(l);
      l();
    });
  }

  start(rank: number, args: string[], extra: Partial<RankStartRequest> = {}) {
    const req: RankStartRequest = { env: { ZCMPI_RANK: String(rank), ODD: "va'l ue$HOME" }, program: prog, file: prog, nodeOptions: [], args, stdin: false, ...extra };
    this.c.stdin.write(encodeRankFrame(FRAME_START, rank, JSON.stringify(req)));
  }

  send(b: Buffer) { this.c.stdin.write(b); }
  exited(rank: number) { return this.until(() => this.ranks.get(rank)?.exit); }
  started(rank: number) { return this.until(() => this.ranks.get(rank)?.pid ?? this.ranks.get(rank)?.failed); }
  output(rank: number, re: RegExp) { return this.until(() => re.test(this.ranks.get(rank)?.out ?? '')); }
}

const cmd = (extra: Partial<Parameters<typeof buildDaemonCommand>[0]> = {}) => buildDaemonCommand({ cwd: dir, heartbeatTimeoutMs: 0, ...extra });
const aliveP = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
async function gone(pid: number, ms = 10000) {
  const end = Date.now() + ms;
  while (aliveP(pid) && Date.now() < end) await new Promise(r => setTimeout(r, 50));
  return !aliveP(pid);
}

t.test('ranks start with exact args, a clean env and the secret from stdin; output and status come back', async t => {
  const command = cmd();
  t.notMatch(command, /s3cr3t/, 'no secret on the command line');
  const d = new Daemon(command);
  d.start(0, ['echo', ...nasty]);
  d.start(1, ['exit', '3']);
  t.same(await d.exited(0), { code: 0, signal: null });
  t.same(await d.exited(1), { code: 3, signal: null });
  t.match(d.preamble, new RegExp(`^${DAEMON_MARK} \\d+$`), 'the daemon announces itself first');
  const v = d.ranks.get(0)!;
  t.ok(v.pid && v.pid > 0, 'the rank\'s pid was reported');
  const out = JSON.parse(v.out);
  t.same(out.argv, nasty);
  t.equal(out.cwd, dir);
  t.equal(out.env.ZCMPI_KV_SECRET, 's3cr3t');
  t.equal(out.env.ZCMPI_RANK, '0');
  t.equal(out.env.ODD, "va'l ue$HOME");
  t.equal(out.env.PATH, process.env.PATH, 'PATH comes from the remote shell');
  t.same(Object.keys(out.env).sort(), ['HOME', 'ODD', 'PATH', 'ZCMPI_KV_SECRET', 'ZCMPI_LAUNCHER_FD', 'ZCMPI_RANK'], 'nothing else leaks in');
  t.equal(v.err, 'to stderr\n', 'stderr arrives as its own stream');
  d.c.stdin.end();
  t.same(await d.exit, { code: 0, signal: null }, 'end of file with no rank running: a clean end');
  t.equal(d.stderr, '');
});

t.test('stdin frames reach the rank; its end closes the rank\'s stdin', async t => {
  const d = new Daemon(cmd());
  d.start(5, ['stdin'], { stdin: true });
  await d.started(5);
  for (const f of [...encodeData(5, Buffer.from('hello ')), ...encodeData(5, Buffer.from('world')), encodeRankFrame(FRAME_EOF, 5)]) d.send(f);
  t.same(await d.exited(5), { code: 0, signal: null });
  t.equal(d.ranks.get(5)!.out, 'stdin:hello world\n');
  d.c.stdin.end();
  await d.exit;
});

t.test('missing program or loader: an F frame for that rank; missing cwd or node: one FAILED line, status 127', async t => {
  const d = new Daemon(cmd());
  d.start(0, [], { program: join(dir, 'nope.ts'), file: join(dir, 'nope.ts') });
  d.start(1, [], { nodeOptions: ['--import', 'file:///opt/no/loader.mjs'] });
  t.equal(await d.started(0), `program not found: ${join(dir, 'nope.ts')}`);
  t.match(await d.started(1), /^TypeScript loader not found: \/opt\/no\/loader.mjs/);
  d.c.stdin.end();
  t.same(await d.exit, { code: 0, signal: null });

  let e = new Daemon(cmd({ cwd: join(dir, 'no dir') }));
  t.same(await e.exit, { code: 127, signal: null });
  t.equal(e.stderr, `${FAILED_MARK} cannot change to working directory ${join(dir, 'no dir')}\n`);
  e = new Daemon(cmd({ node: '/opt/no/node' }));
  t.same(await e.exit, { code: 127, signal: null });
  t.match(e.stderr, new RegExp(`^${FAILED_MARK} node not found: /opt/no/node \\(PATH=.*\\); install Node.js there or use --node PATH\\n$`));
});

t.test('a shipped bundle is stored privately when the launcher\'s copy is not visible, and runs', async t => {
  const bytes = Buffer.from('console.log("from the bundle", process.argv.slice(2).join(","));\n');
  const hash = createHash('sha256').update(bytes).digest('hex');
  const d = new Daemon(cmd());
  d.send(encodeBundle(hash, '/nonexistent/launcher/copy.mjs', prog, bytes));
  d.start(0, ['a', 'b'], { bundle: hash, file: '/nonexistent/launcher/copy.mjs' });
  t.same(await d.exited(0), { code: 0, signal: null }, d.ranks.get(0)?.failed ?? d.stderr);
  t.equal(d.ranks.get(0)!.out, 'from the bundle a,b\n');
  const stored = join(tmpdir(), `zcmpi-bundles-${process.getuid!()}`, hash, `${prog}.mjs`);
  t.ok(readFileSync(stored).equals(bytes), `stored under its hash and the program's path (${stored})`);
  d.c.stdin.end();
  await d.exit;
});

t.test('kill frames signal one rank or all; a rank\'s signal comes back as its exit', async t => {
  const d = new Daemon(cmd());
  for (const r of [0, 1, 2]) d.start(r, ['wait']);
  await Promise.all([0, 1, 2].map(r => d.output(r, /waiting/)));
  d.send(encodeRankFrame(FRAME_KILL, 0, 'SIGTERM'));
  t.same(await d.exited(0), { code: 7, signal: null }, 'SIGTERM reached rank 0 only');
  t.equal(d.ranks.get(1)!.exit, undefined);
  d.send(encodeRankFrame(FRAME_KILL, ALL_RANKS, 'SIGKILL'));
  t.same(await d.exited(1), { code: null, signal: 'SIGKILL' });
  t.same(await d.exited(2), { code: null, signal: 'SIGKILL' });
  d.c.stdin.end();
  t.same(await d.exit, { code: 0, signal: null });
});

t.test('end of file on the daemon\'s stdin (launcher gone) ends every rank and their grandchildren', async t => {
  const d = new Daemon(cmd());
  d.start(0, ['wait', 'child']);
  d.start(1, ['wait']);
  await Promise.all([0, 1].map(r => d.output(r, /waiting/)));
  const pids = [0, 1].map(r => Number(readFileSync(join(dir, `pid-wait-${r}`), 'utf8')));
  const grandchild = Number(readFileSync(join(dir, 'grandchild-0'), 'utf8'));
  t.ok(pids.every(aliveP) && aliveP(grandchild));
  d.c.stdin.end();
  t.same(await d.exit, { code: 1, signal: null }, 'the daemon exits 1: ranks were still running');
  for (const p of [...pids, grandchild]) t.ok(await gone(p), `process ${p} is gone`);
});

t.test('the daemon\'s parent dying (sshd session killed) ends the ranks', async t => {
  // sh -c 'sh -c CMD & wait': kill the outer shell; the daemon's stdin stays open (held by
  // us), so only the parent check can notice.
  const d = new Daemon(cmd(), 'sec', inner => `exec 3<&0; /bin/sh -c ${shQuote(inner)} <&3 & wait`);
  d.start(0, ['wait']);
  await d.output(0, /waiting/);
  const pid = Number(readFileSync(join(dir, 'pid-wait-0'), 'utf8'));
  d.c.kill('SIGKILL'); // the outer shell
  t.ok(await gone(pid), 'the rank is gone after its daemon lost its parent');
  d.c.stdin.destroy();
});

t.test('no heartbeat for the timeout (a partitioned network) ends the ranks; heartbeats keep them', async t => {
  const beating = new Daemon(cmd({ heartbeatTimeoutMs: 1500 }));
  const silent = new Daemon(cmd({ heartbeatTimeoutMs: 1500 }));
  beating.start(0, ['wait']);
  silent.start(0, ['wait']);
  const beat = setInterval(() => beating.send(encodeFrame(FRAME_HEARTBEAT)), 300);
  await Promise.all([beating.output(0, /waiting/), silent.output(0, /waiting/)]);
  const t0 = Date.now();
  t.same(await silent.exit, { code: 1, signal: null }, 'the silent daemon gave up');
  t.same(silent.ranks.get(0)!.exit, { code: 7, signal: null }, 'after its rank got SIGTERM (its handler exits 7)');
  t.ok(Date.now() - t0 >= 500, 'not at once');
  t.equal(beating.c.exitCode, null, 'the one with heartbeats still runs');
  t.equal(beating.ranks.get(0)!.exit, undefined);
  clearInterval(beat);
  beating.send(encodeRankFrame(FRAME_KILL, 0, 'SIGKILL'));
  t.same(await beating.exited(0), { code: null, signal: 'SIGKILL' });
  beating.c.stdin.end();
  await beating.exit;
});
