// Unit (quote.ts, frames.ts, remote-command.ts; no SSH): the command line built for a
// remote rank survives a real POSIX shell (dash) byte for byte, never carries the secret,
// and the wrapper it runs reads the secret from stdin, forwards stdin frames, delivers
// signals to the rank's process group and kills the rank when its stdin closes.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shQuote } from '../launcher/ssh/quote.js';
import { encodeData, encodeFrame, FrameDecoder, FRAME_DATA, FRAME_EOF, FRAME_KILL, MAX_FRAME } from '../launcher/ssh/frames.js';
import { buildRemoteCommand, FAILED_MARK, STARTED_MARK } from '../launcher/ssh/remote-command.js';

const dir = mkdtempSync(join(tmpdir(), 'zcmpi-rc-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const nasty = ['plain', '', ' ', 'a b', "it's", '"dq"', '$HOME', '`id`', '$(id)', 'a\\b', '*', '-x', '--', 'new\nline', 'tab\there', 'üñí', ';exit 1;', "'", "''", '!x', '~'];

function sh(cmd: string, stdin?: Buffer[]): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise(resolve => {
    const c = spawn('/bin/sh', ['-c', cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    c.stdout.on('data', d => { stdout += d; });
    c.stderr.on('data', d => { stderr += d; });
    c.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    c.stdin.on('error', () => {});
    for (const b of stdin ?? []) c.stdin.write(b);
  });
}

t.test('shQuote: every word comes back unchanged through /bin/sh', async t => {
  const cmd = `printf '%s\\0' ${nasty.map(shQuote).join(' ')}`;
  const r = await sh(cmd);
  t.same(r.stdout.split('\0').slice(0, -1), nasty);
  t.throws(() => shQuote('a\0b'), /NUL/);
  t.equal(shQuote('/abs/path-1.ts'), '/abs/path-1.ts', 'safe words stay readable');
});

t.test('frames round-trip; large data is split', async t => {
  const dec = new FrameDecoder();
  const big = Buffer.alloc(MAX_FRAME * 2 + 5, 7);
  const wire = Buffer.concat([...encodeData(big), encodeFrame(FRAME_EOF), encodeFrame(FRAME_KILL, Buffer.from('SIGTERM'))]);
  const got = [];
  for (let i = 0; i < wire.length; i += 1000) got.push(...dec.push(wire.subarray(i, i + 1000)));
  t.same(got.map(f => f.type), [FRAME_DATA, FRAME_DATA, FRAME_DATA, FRAME_EOF, FRAME_KILL]);
  t.equal(Buffer.concat(got.filter(f => f.type === FRAME_DATA).map(f => f.payload)).equals(big), true);
  t.equal(got[4].payload.toString(), 'SIGTERM');
});

const prog = join(dir, 'prog.mjs');
writeFileSync(prog, `
import { writeFileSync } from 'node:fs';
const mode = process.argv[2];
writeFileSync(${JSON.stringify(dir)} + '/pid-' + mode, String(process.pid));
if (mode === 'echo') {
  console.log(JSON.stringify({ argv: process.argv.slice(3), env: process.env, cwd: process.cwd() }));
} else if (mode === 'stdin') {
  let s = ''; process.stdin.on('data', d => { s += d; }); process.stdin.on('end', () => { console.log('stdin:' + s); });
} else if (mode === 'wait') {
  process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(7); });
  console.log('waiting'); setInterval(() => {}, 1000);
}
`);

function cmdFor(mode: string, args: string[], extra: Partial<Parameters<typeof buildRemoteCommand>[0]> = {}): string {
  return buildRemoteCommand({ cwd: dir, env: { ZCMPI_RANK: '3', ODD: "va'l ue$HOME" }, nodeOptions: [], program: prog, args: [mode, ...args], stdin: false, heartbeatTimeoutMs: 0, ...extra });
}

t.test('the command runs the program with exact args, a clean env, the secret from stdin', async t => {
  const cmd = cmdFor('echo', nasty);
  t.notMatch(cmd, /s3cr3t/, 'no secret on the command line');
  t.throws(() => buildRemoteCommand({ cwd: '/', env: { ZCMPI_KV_SECRET: 'x' }, nodeOptions: [], program: prog, args: [], stdin: false, heartbeatTimeoutMs: 0 }), /secret/);
  const r = await sh(cmd, [Buffer.from('s3cr3t\n')]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, new RegExp(`^${STARTED_MARK} \\d+\\n$`), 'the wrapper reports the start first');
  const out = JSON.parse(r.stdout);
  t.same(out.argv, nasty);
  t.equal(out.cwd, dir);
  t.equal(out.env.ZCMPI_KV_SECRET, 's3cr3t');
  t.equal(out.env.ZCMPI_RANK, '3');
  t.equal(out.env.ODD, "va'l ue$HOME");
  t.equal(out.env.PATH, process.env.PATH, 'PATH comes from the remote shell');
  t.same(Object.keys(out.env).sort(), ['HOME', 'ODD', 'PATH', 'ZCMPI_KV_SECRET', 'ZCMPI_LAUNCHER_FD', 'ZCMPI_RANK'], 'nothing else leaks in');
});

t.test('stdin frames reach the rank; its end closes the rank\'s stdin', async t => {
  const r = await sh(cmdFor('stdin', [], { stdin: true }), [
    Buffer.from('sec\n'), ...encodeData(Buffer.from('hello ')), ...encodeData(Buffer.from('world')), encodeFrame(FRAME_EOF),
  ]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'stdin:hello world\n');
});

t.test('missing program, missing cwd, missing node: one FAILED line, status 127', async t => {
  let r = await sh(buildRemoteCommand({ cwd: dir, env: {}, nodeOptions: [], program: join(dir, 'nope.ts'), args: [], stdin: false, heartbeatTimeoutMs: 0 }), [Buffer.from('s\n')]);
  t.equal(r.code, 127);
  t.equal(r.stderr, `${FAILED_MARK} program not found: ${join(dir, 'nope.ts')}\n`);
  r = await sh(buildRemoteCommand({ cwd: join(dir, 'no dir'), env: {}, nodeOptions: [], program: prog, args: [], stdin: false, heartbeatTimeoutMs: 0 }));
  t.equal(r.code, 127);
  t.equal(r.stderr, `${FAILED_MARK} cannot change to working directory ${join(dir, 'no dir')}\n`);
  r = await sh(buildRemoteCommand({ cwd: dir, node: '/opt/no/node', env: {}, nodeOptions: [], program: prog, args: [], stdin: false, heartbeatTimeoutMs: 0 }));
  t.equal(r.code, 127);
  t.match(r.stderr, new RegExp(`^${FAILED_MARK} node not found: /opt/no/node \\(PATH=.*\\); install Node.js there or use --node PATH\\n$`));
  r = await sh(buildRemoteCommand({ cwd: dir, env: {}, nodeOptions: ['--import', 'file:///opt/no/loader.mjs'], program: prog, args: [], stdin: false, heartbeatTimeoutMs: 0 }), [Buffer.from('s\n')]);
  t.equal(r.code, 127);
  t.match(r.stderr, /TypeScript loader not found: \/opt\/no\/loader.mjs/);
});

function startWrapper(mode: string) {
  const c = spawn('/bin/sh', ['-c', cmdFor(mode, [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  c.stdout.on('data', d => { stdout += d; });
  const waiting = new Promise<void>(resolve => c.stdout.on('data', () => { if (stdout.includes('waiting')) resolve(); }));
  const exit = new Promise<{ code: number | null; signal: string | null }>(resolve => c.on('exit', (code, signal) => resolve({ code, signal })));
  c.stdin.write('sec\n');
  return { c, waiting, exit, out: () => stdout };
}

const aliveP = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
async function gone(pid: number, ms = 10000) {
  const end = Date.now() + ms;
  while (aliveP(pid) && Date.now() < end) await new Promise(r => setTimeout(r, 50));
  return !aliveP(pid);
}
const { readFileSync } = await import('node:fs');

t.test('a kill frame signals the rank; the wrapper exits with the rank\'s status', async t => {
  const w = startWrapper('wait');
  await w.waiting;
  w.c.stdin.write(encodeFrame(FRAME_KILL, Buffer.from('SIGTERM')));
  t.same(await w.exit, { code: 7, signal: null });
  t.match(w.out(), /got SIGTERM/);
});

t.test('a rank killed by a signal makes the wrapper die of the same signal', async t => {
  const w = startWrapper('wait');
  await w.waiting;
  w.c.stdin.write(encodeFrame(FRAME_KILL, Buffer.from('SIGKILL')));
  t.same(await w.exit, { code: null, signal: 'SIGKILL' });
});

t.test('end of file on the wrapper\'s stdin (launcher gone) kills the rank', async t => {
  const w = startWrapper('wait');
  await w.waiting;
  const pid = Number(readFileSync(join(dir, 'pid-wait'), 'utf8'));
  t.ok(aliveP(pid));
  w.c.stdin.end();
  await w.exit;
  t.ok(await gone(pid), 'the rank is gone');
});

t.test('the wrapper\'s parent dying (sshd session killed) kills the rank', async t => {
  // sh -c 'sh -c CMD & wait': kill both shells; the wrapper's stdin stays open (held by
  // us), so only the parent check can notice.
  const inner = cmdFor('wait', []);
  const c = spawn('/bin/sh', ['-c', `exec 3<&0; /bin/sh -c ${shQuote(inner)} <&3 & wait`], { stdio: ['pipe', 'pipe', 'inherit'] });
  c.stdin.write('sec\n');
  let out = '';
  await new Promise<void>(resolve => c.stdout.on('data', d => { out += d; if (out.includes('waiting')) resolve(); }));
  const pid = Number(readFileSync(join(dir, 'pid-wait'), 'utf8'));
  c.kill('SIGKILL'); // the outer shell
  // the inner shell exec'd node (the wrapper), whose parent was the outer shell: now reparented
  t.ok(await gone(pid), 'the rank is gone after its wrapper lost its parent');
  c.stdin.destroy();
});

t.test('no heartbeat for the timeout (a partitioned network) kills the rank; heartbeats keep it', async t => {
  const { FRAME_HEARTBEAT } = await import('../launcher/ssh/frames.js');
  const start = (ms: number) => {
    const c = spawn('/bin/sh', ['-c', cmdFor('wait', [], { heartbeatTimeoutMs: ms })], { stdio: ['pipe', 'pipe', 'ignore'] });
    c.stdin.write('sec\n');
    const exit = new Promise<{ code: number | null; signal: string | null }>(resolve => c.on('exit', (code, signal) => resolve({ code, signal })));
    return { c, exit };
  };
  const beating = start(1500);
  const beat = setInterval(() => beating.c.stdin.write(encodeFrame(FRAME_HEARTBEAT)), 300);
  const silent = start(1500);
  const t0 = Date.now();
  t.same(await silent.exit, { code: 7, signal: null }, 'the silent one got SIGTERM (its handler exits 7)');
  t.ok(Date.now() - t0 >= 1400, 'not before the timeout');
  t.equal(beating.c.exitCode, null, 'the one with heartbeats still runs');
  clearInterval(beat);
  beating.c.stdin.write(encodeFrame(FRAME_KILL, Buffer.from('SIGKILL')));
  t.same(await beating.exit, { code: null, signal: 'SIGKILL' });
});
