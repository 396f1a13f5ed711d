// --timeout-startup S ends a job whose ranks do not all reach the first KV fence in time.
import t from 'tap';
import { fixture, killAll, pidsIn, runCli, survivors } from './fixtures/launcher/helpers.js';

t.test('ranks that never fence: job ends after --timeout-startup, naming the ranks', async t => {
  const r = await runCli(['-np', '2', '--timeout-startup', '2', fixture('hang.ts')]);
  const pids = pidsIn(r.stdout);
  t.teardown(() => killAll(pids));
  t.equal(r.code, 1);
  t.match(r.stderr, /^zcmpirun: ranks 0, 1 did not reach the first key-value fence within --timeout-startup 2 s \(never connected: 0, 1\); ending the job$/m);
  t.same(await survivors(pids), [], 'no rank process is left');
});

t.test('ranks that fenced in time keep running past --timeout-startup', async t => {
  // They hang after the fence; --timeout (not the startup timeout) must be what ends them.
  // (4 s is plenty for two ranks to fence even on a loaded machine.)
  const r = await runCli(['-np', '2', '--timeout-startup', '4', '--timeout', '8', fixture('hang.ts'), '--fence']);
  const pids = pidsIn(r.stdout);
  t.teardown(() => killAll(pids));
  t.equal(r.code, 1);
  t.match(r.stderr, /--timeout 8 s/);
  t.notMatch(r.stderr, /--timeout-startup/);
  t.same(await survivors(pids), []);
});
