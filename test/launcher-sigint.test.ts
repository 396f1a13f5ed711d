// SIGINT/SIGTERM to the launcher are forwarded to the ranks; the launcher exits 130/143
// and nothing of the job (ranks or processes they started) is left running.
import t from 'tap';
import { fixture, killAll, pidsIn, startCli, survivors } from './fixtures/launcher/helpers.js';

t.test('SIGINT ends every rank and its children, exit 130', async t => {
  const job = startCli(['-np', '3', fixture('hang.ts'), '--child', '--fence']);
  t.teardown(() => { killAll([...pidsIn(job.stdout), ...pidsIn(job.stdout, 'child')]); job.child.kill('SIGKILL'); });
  await job.waitForCount(/^ready \d$/m, 3);
  const ranks = pidsIn(job.stdout);
  const children = pidsIn(job.stdout, 'child');
  t.equal(ranks.length, 3);
  t.equal(children.length, 3);
  job.child.kill('SIGINT');
  const r = await job.exited;
  t.equal(r.code, 130, 'exit status 130');
  t.match(r.stderr, /received SIGINT; forwarding it to the ranks and ending the job/);
  t.same(await survivors([...ranks, ...children]), [], 'no rank or grandchild process is left');
});

t.test('SIGTERM to the launcher: ranks that ignore SIGTERM are killed after the grace period, exit 143', async t => {
  const job = startCli(['-np', '2', fixture('hang.ts'), '--ignore-term', '--fence']);
  t.teardown(() => { killAll(pidsIn(job.stdout)); job.child.kill('SIGKILL'); });
  await job.waitForCount(/^ready \d$/m, 2);
  const ranks = pidsIn(job.stdout);
  const sent = Date.now();
  job.child.kill('SIGTERM');
  const r = await job.exited;
  t.equal(r.code, 143, 'exit status 143');
  t.ok(Date.now() - sent < 10_000, 'job gone within 10 s');
  t.same(await survivors(ranks), [], 'no rank process is left');
});
