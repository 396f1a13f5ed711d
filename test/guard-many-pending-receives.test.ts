// 20000 receives in flight before the message that lets the peer send: the job ends (it
// used to hang, the receives past the guard table's 16384 silently waiting on the
// JavaScript thread). Each receive completes with its bytes, or fails with a GuardError
// naming the reason, never a silent wait.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('20000 pending receives: no hang, each completes or fails with a GuardError saying why', async t => {
  const r = await runRanks('../guard/many-pending-receives.ts', ['20000'], {
    guard: 'block', timeout: 25,
    env: { UCX_LOG_LEVEL: 'error' },  // the canceled receives' messages stay unmatched: UCX warns per message at exit
  });
  allOk(t, r, 2);
  const line = r.stdout.split('\n').find(l => l.startsWith('{'));
  const res = JSON.parse(line ?? '{}') as { completed: number; guardErrors: number; firstError: string };
  t.equal(res.completed + res.guardErrors, 20000, `every receive accounted for (${res.completed} completed, ${res.guardErrors} GuardErrors)`);
  if (res.guardErrors > 0) {
    t.match(res.firstError, /receive buffer could not be guarded: .*(guard table holds \d+|errno|\(E[A-Z]+\))/, `the error says why: ${res.firstError}`);
  }
});
