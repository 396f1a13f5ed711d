// A launcher that dies without ending its job (SIGKILL, OOM killer, a CI timeout) leaves
// no rank behind: each rank watches a lifeline pipe from the launcher and ends itself
// and the processes it started when the pipe closes.
import t from 'tap';
import { fixture, killAll, pidsIn, startCli, survivors } from './fixtures/launcher/helpers.js';

t.test('SIGKILL to the launcher: ranks and their children end by themselves', async t => {
  const job = startCli(['-np', '2', fixture('hang.ts'), '--child', '--fence']);
  t.teardown(() => { killAll([...pidsIn(job.stdout), ...pidsIn(job.stdout, 'child')]); job.child.kill('SIGKILL'); });
  await job.waitForCount(/^ready \d$/m, 2);
  const pids = [...pidsIn(job.stdout), ...pidsIn(job.stdout, 'child')];
  t.equal(pids.length, 4);
  job.child.kill('SIGKILL');
  const r = await job.exited;
  t.equal(r.signal, 'SIGKILL');
  t.same(await survivors(pids, 10_000), [], 'no rank or grandchild is left');
});
