// SshStarter on its own (no job controller) against real sshd in network namespaces:
// ranks start through one daemon per host (one connection, one exec channel) with exact
// argv, a clean environment and the secret delivered on stdin (never in any process's
// argv), report exit statuses and signals, take forwarded stdin, and leave nothing behind
// on close(); a host whose sshd allows one session per connection still runs any number.
import t from 'tap';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCluster, skipReason, type Cluster } from './support/netns-cluster.js';
import { SshStarter } from '../launcher/ssh/ssh-starter.js';
import { resolveAuth } from '../launcher/ssh/auth.js';
import type { RankHandle, RankSpec } from '../launcher/rank-starter.js';

const why = skipReason();
const prog = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures/ssh/plain-rank.mjs');
const SECRET = 'f00dfeed'.repeat(8);

function spec(host: string, rank: number, args: string[], extra: Partial<RankSpec> = {}): RankSpec {
  return {
    rank, size: 4, localRank: rank, localSize: 4, host, program: prog, args, cwd: '/tmp', stdin: false,
    env: { ZCMPI_RANK: String(rank), ZCMPI_HOST: host, ZCMPI_KV_SECRET: SECRET, FORWARDED: 'a b $c' },
    ...extra,
  };
}

function collect(h: RankHandle): { out: () => string; err: () => string } {
  let out = '', err = '';
  h.stdout.on('data', d => { out += d; });
  h.stderr.on('data', d => { err += d; });
  return { out: () => out, err: () => err };
}

async function connect(c: Cluster, i: number): Promise<SshStarter> {
  return SshStarter.connect({
    host: c.hosts[i].name, user: 'root', auth: resolveAuth({ keyFiles: [c.userKeyPath], agent: null }), knownHostsFile: c.knownHostsPath,
  });
}

t.test('ranks on two hosts: argv, env, cwd, secret on stdin only, exit statuses', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  const s = await Promise.all([connect(c, 0), connect(c, 1)]);
  t.teardown(() => Promise.all(s.map(x => x.close())));
  t.equal(s[0].bootstrapAddress, c.bridgeAddr, 'the bootstrap address is our side of the connection');
  const weird = ['a b', "it's", '$HOME', '-x', ''];
  const hs = await Promise.all([
    s[0].start(spec(s[0].host, 0, ['echo', ...weird])),
    s[1].start(spec(s[1].host, 1, ['echo'])),
    s[1].start(spec(s[1].host, 2, ['exit', '3'])),
  ]);
  const outs = hs.map(collect);
  t.ok(hs.every(h => typeof h.pid === 'number'), 'remote pids are known');
  // Two ranks that stay up: while they run, no process has the secret on its command line.
  const waiting = await Promise.all([s[0].start(spec(s[0].host, 3, ['wait'])), s[1].start(spec(s[1].host, 3, ['wait']))]);
  await Promise.all(waiting.map(h => once(h.stdout, 'data')));
  t.equal(c.pgrepIn(0, /^\S*node -e [\s\S]* zcmpi-daemon \d+$/).length, 1, 'one daemon runs on host 0');
  t.equal(c.pgrepIn(1, /^\S*node -e [\s\S]* zcmpi-daemon \d+$/).length, 1, 'one daemon runs on host 1, for its three ranks');
  t.equal(c.pgrepAll(/^\S+ \S+plain-rank\.mjs wait$/).length, 2, 'a rank runs on each host');
  t.same(c.pgrepAll(SECRET), [], 'the secret is in no argv');
  for (const h of waiting) h.kill('SIGTERM');
  t.same(await Promise.all(waiting.map(h => h.exited)), [{ code: 7, signal: null }, { code: 7, signal: null }]);
  const exits = await Promise.all(hs.map(h => h.exited));
  t.same(exits, [{ code: 0, signal: null }, { code: 0, signal: null }, { code: 3, signal: null }]);
  const r0 = JSON.parse(outs[0].out());
  t.same(r0.argv, weird);
  t.equal(r0.cwd, '/tmp');
  t.equal(r0.rank, '0');
  t.equal(r0.secret, SECRET, 'the rank got the secret');
  t.same(r0.keys, ['FORWARDED', 'HOME', 'PATH', 'ZCMPI_HOST', 'ZCMPI_KV_SECRET', 'ZCMPI_LAUNCHER_FD', 'ZCMPI_RANK'], 'a clean environment plus the job\'s');
  t.equal(outs[0].err(), 'stderr of rank 0\n', 'stderr arrives as the rank wrote it');
  t.equal(JSON.parse(outs[1].out()).host, c.hosts[1].name);
});

t.test('stdin forwarding, kill with signals, grandchildren die with the rank', { skip: why }, async t => {
  const c = await createCluster({ hosts: 1 });
  t.teardown(() => c.cleanup());
  const s = await connect(c, 0);
  t.teardown(() => s.close());

  const a = await s.start(spec(s.host, 0, ['stdin'], { stdin: true }));
  const ao = collect(a);
  a.stdin!.write('hello ');
  a.stdin!.end('world');
  t.same(await a.exited, { code: 0, signal: null });
  t.equal(ao.out(), 'HELLO WORLD');

  const b = await s.start(spec(s.host, 1, ['wait']));
  const bo = collect(b);
  await once(b.stdout, 'data');
  b.kill('SIGTERM');
  t.same(await b.exited, { code: 7, signal: null }, 'SIGTERM reached the rank');
  t.match(bo.out(), /waiting \d+/);

  const d = await s.start(spec(s.host, 2, ['child']));
  const dout = collect(d);
  while (!/waiting/.test(dout.out())) await once(d.stdout, 'data');
  t.equal(c.pgrepIn(0, /zcmpi-grandchild/).length, 1, 'the grandchild runs');
  d.kill('SIGKILL');
  t.same(await d.exited, { code: null, signal: 'SIGKILL' }, 'the signal comes back as the exit signal');
  t.same(await c.waitNoneLeft(/zcmpi-grandchild|plain-rank/), [], 'nothing of the rank is left, grandchild included');
});

t.test('close() with ranks still running leaves nothing in the namespace', { skip: why }, async t => {
  const c = await createCluster({ hosts: 1 });
  t.teardown(() => c.cleanup());
  const s = await connect(c, 0);
  const hs = await Promise.all([0, 1].map(r => s.start(spec(s.host, r, ['child']))));
  await Promise.all(hs.map(h => once(h.stdout, 'data')));
  await s.close();
  const exits = await Promise.all(hs.map(h => h.exited));
  t.ok(exits.every(e => e.signal === 'SIGKILL' || e.error !== undefined), `ranks ended: ${JSON.stringify(exits)}`);
  t.same(await c.waitNoneLeft(/plain-rank|zcmpi-grandchild|node -e/), [], 'no rank, grandchild or wrapper left');
});

t.test('sshd allowing one session per connection: five ranks over the one daemon channel', { skip: why }, async t => {
  const c = await createCluster({ hosts: 1, sshdConfig: ['MaxSessions 1'] });
  t.teardown(() => c.cleanup());
  const s = await connect(c, 0);
  t.teardown(() => s.close());
  const hs = await Promise.all([0, 1, 2, 3, 4].map(r => s.start(spec(s.host, r, ['wait']))));
  await Promise.all(hs.map(h => once(h.stdout, 'data')));
  t.equal(c.pgrepIn(0, /^\S+ \S+plain-rank\.mjs wait$/).length, 5, 'all five ranks run');
  t.equal(c.pgrepIn(0, /zcmpi-daemon/).length, 1, 'started by one daemon');
  t.same(hs.map(h => c.pgrepIn(0, /plain-rank\.mjs wait$/).some(p => p.pid === h.pid)), [true, true, true, true, true], 'the handles carry the ranks\' own pids');
  for (const h of hs) h.kill('SIGTERM');
  t.same((await Promise.all(hs.map(h => h.exited))).map(e => e.code), [7, 7, 7, 7, 7]);
});
