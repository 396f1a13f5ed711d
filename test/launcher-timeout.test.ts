// --timeout S ends a job that runs longer than S seconds.
import t from 'tap';
import { fixture, killAll, pidsIn, runCli, survivors } from './fixtures/launcher/helpers.js';

t.test('--timeout 4 ends a hanging job with status 1 and a message', async t => {
  const started = Date.now();
  const r = await runCli(['-np', '2', '--timeout', '4', fixture('hang.ts'), '--fence']);
  const pids = pidsIn(r.stdout);
  t.teardown(() => killAll(pids));
  t.equal(r.code, 1);
  t.match(r.stderr, /^zcmpirun: the job ran longer than --timeout 4 s; ending the job$/m);
  t.ok(Date.now() - started >= 4000, 'not before the timeout');
  t.equal((r.stdout.match(/^ready \d$/gm) ?? []).length, 2, 'ranks had started fine');
  t.same(await survivors(pids), [], 'no rank process is left');
});

t.test('a job that finishes in time is not affected by --timeout', async t => {
  const r = await runCli(['-np', '2', '--timeout', '120', fixture('kv-exchange.ts')]);
  t.equal(r.code, 0);
  t.notMatch(r.stderr, /timeout/);
});
