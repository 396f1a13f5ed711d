// When the launcher's stdout goes away (`zcmpirun ... | head -1`), the job ends instead
// of the launcher crashing and leaving ranks behind.
import t from 'tap';
import { fixture, killAll, startCli, survivors } from './fixtures/launcher/helpers.js';

t.test('closed stdout ends the job and leaves nothing running', async t => {
  const job = startCli(['-np', '2', fixture('spam.ts')]);
  const rankPids = () => [...job.stderr.matchAll(/^pid \d+ (\d+)$/gm)].map(m => Number(m[1]));
  t.teardown(() => { killAll(rankPids()); job.child.kill('SIGKILL'); });
  await job.waitForCount(/rank \d says/, 1);
  await job.waitFor(/^pid 1 \d+$/m, 'stderr');
  await job.waitFor(/^pid 0 \d+$/m, 'stderr');
  const pids = rankPids();
  t.equal(pids.length, 2);
  job.child.stdout!.destroy(); // like `head` exiting
  const r = await job.exited;
  t.equal(r.code, 1);
  t.match(r.stderr, /zcmpirun: cannot write rank output \(.*EPIPE.*\); ending the job/);
  t.same(await survivors(pids), [], 'no rank process is left');
});
