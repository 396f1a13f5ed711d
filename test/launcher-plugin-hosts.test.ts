// Hosts plug into the job controller as HostStarters: placement decides which starter
// runs each rank, local ranks are counted per host, output is tagged [host:rank], a
// starter that cannot start a rank or loses one ends the job, and every starter is closed.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { Job, type JobOptions } from '../launcher/job.js';
import { LocalStarter } from '../launcher/local-starter.js';
import type { HostStarter, RankExit, RankHandle, RankSpec } from '../launcher/rank-starter.js';
import { alive, fixture, killAll, pidsIn, survivors } from './fixtures/launcher/helpers.js';

/** Wraps a LocalStarter under another host name and records what it was asked to do. */
class RecordingStarter implements HostStarter {
  readonly specs: RankSpec[] = [];
  closed = 0;
  private readonly inner: LocalStarter;
  constructor(readonly host: string, readonly bootstrapAddress?: string) {
    this.inner = new LocalStarter({ host });
  }
  start(spec: RankSpec): Promise<RankHandle> {
    this.specs.push(spec);
    return this.inner.start(spec);
  }
  async close(): Promise<void> {
    this.closed++;
    await this.inner.close();
  }
}

/** Collects output; until() resolves on the data event that makes cond true. */
function collect(): { stream: PassThrough; text: () => string; until: (cond: (text: string) => boolean) => Promise<void> } {
  const stream = new PassThrough();
  let text = '';
  stream.setEncoding('utf8').on('data', (d: string) => { text += d; });
  const until = (cond: (text: string) => boolean) => new Promise<void>(resolve => {
    const check = () => {
      if (!cond(text)) return;
      stream.off('data', check);
      resolve();
    };
    stream.on('data', check);
    check();
  });
  return { stream, text: () => text, until };
}

function jobWith(placement: HostStarter[], program: string, extra: Partial<JobOptions> = {}) {
  const out = collect();
  const err = collect();
  const logs: string[] = [];
  const job = new Job({ placement, program, stdout: out.stream, stderr: err.stream, log: l => logs.push(l), ...extra });
  return { job, out, err, logs };
}

t.test('ranks spread over two hosts get per-host local ranks, tags and KV addresses', async t => {
  const alpha = new RecordingStarter('alpha');
  const beta = new RecordingStarter('beta', '127.0.0.1');
  const { job, out, logs } = jobWith([alpha, beta, alpha], fixture('env-args.ts'), { tagOutput: true, kvHost: '0.0.0.0', args: ['z'] });
  const result = await job.run();
  t.equal(result.exitCode, 0, logs.join('\n'));
  t.equal(result.failure, null);
  t.equal(result.jobId, job.jobId);
  const byRank = new Map<string, { tag: string; info: Record<string, unknown> }>();
  for (const line of out.text().split('\n').filter(Boolean)) {
    const m = /^\[([^\]]+)\] (.*)$/.exec(line);
    t.ok(m, `tagged: ${line}`);
    const info = JSON.parse(m![2]);
    byRank.set(info.rank, { tag: m![1], info });
  }
  t.match(byRank.get('0'), { tag: 'alpha:0', info: { host: 'alpha', localRank: '0', localSize: '2', size: '3', args: ['z'] } });
  t.match(byRank.get('1'), { tag: 'beta:1', info: { host: 'beta', localRank: '0', localSize: '1' } });
  t.match(byRank.get('2'), { tag: 'alpha:2', info: { host: 'alpha', localRank: '1', localSize: '2' } });
  t.same(alpha.specs.map(s => s.rank), [0, 2]);
  t.match(beta.specs[0].env.ZCMPI_KV_ADDR, /^127\.0\.0\.1:\d+$/, 'bootstrapAddress is what ranks of that host are told');
  t.match(alpha.specs[0].env.ZCMPI_KV_ADDR, /^127\.0\.0\.1:\d+$/, 'a wildcard bind is reached over loopback by local ranks');
  t.equal(alpha.specs[0].env.ZCMPI_KV_SECRET, beta.specs[0].env.ZCMPI_KV_SECRET, 'one secret per job');
  t.equal(alpha.specs[0].stdin, false);
  t.same([alpha.closed, beta.closed], [1, 1], 'each starter closed once');
});

t.test('a starter that cannot start a rank ends the job, exit 1', async t => {
  const alpha = new RecordingStarter('alpha');
  const broken: HostStarter = {
    host: 'broken',
    start: () => Promise.reject(new Error('no route to host')),
    close: async () => {},
  };
  const { job, out, logs } = jobWith([alpha, broken], fixture('hang.ts'));
  t.teardown(() => killAll(pidsIn(out.text())));
  const result = await job.run();
  t.equal(result.exitCode, 1);
  t.match(result.failure, { reason: 'start', rank: 1, host: 'broken' });
  t.match(logs.join('\n'), /^cannot start rank 1 on host broken: no route to host; ending the job$/m);
  t.same(await survivors(pidsIn(out.text())), [], 'rank 0 was killed');
});

t.test('a rank the starter loses (e.g. SSH connection dropped) ends the job', async t => {
  const alpha = new RecordingStarter('alpha');
  let lose: () => void = () => {};
  const flaky: HostStarter = {
    host: 'flaky',
    async start(spec: RankSpec): Promise<RankHandle> {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const exited = new Promise<RankExit>(resolve => {
        lose = () => { stdout.end(); stderr.end(); resolve({ code: null, signal: null, error: 'connection to flaky dropped' }); };
      });
      return { rank: spec.rank, host: 'flaky', pid: undefined, stdout, stderr, stdin: null, exited, kill: () => {} };
    },
    close: async () => {},
  };
  const { job, out, logs } = jobWith([alpha, flaky], fixture('hang.ts'));
  t.teardown(() => killAll(pidsIn(out.text())));
  const running = job.run();
  await out.until(text => pidsIn(text).length === 1); // rank 0 is up
  lose();
  const result = await running;
  t.equal(result.exitCode, 1);
  t.match(logs.join('\n'), /^rank 1 \(host flaky\) was lost: connection to flaky dropped; ending the job$/m);
  t.same(await survivors(pidsIn(out.text())), []);
});

t.test('Job.fail() (a launcher-side failure found by a plug-in) ends the job with status 1', async t => {
  const alpha = new RecordingStarter('alpha');
  const { job, out, logs } = jobWith([alpha, alpha], fixture('hang.ts'), { args: ['--fence'] });
  t.teardown(() => killAll(pidsIn(out.text())));
  const running = job.run();
  await out.until(text => (text.match(/^ready \d$/gm) ?? []).length === 2);
  t.ok(pidsIn(out.text()).every(alive));
  job.fail('host gamma stopped answering');
  const result = await running;
  t.equal(result.exitCode, 1);
  t.match(result.failure, { reason: 'launcher' });
  t.match(logs.join('\n'), /host gamma stopped answering; ending the job/);
  t.ok(result.startupMs !== null && result.startupMs > 0, 'time to the first fence is reported');
  t.same(await survivors(pidsIn(out.text())), []);
});
