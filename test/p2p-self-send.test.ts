// dest == own rank, receive posted before and after the send, small and rendezvous sizes;
// run in a 2-rank job and as a singleton (no launcher).
import t from 'tap';
import { spawn } from 'node:child_process';
import { allOk, p2pFixture, root, runRanks } from './support/p2p.js';

t.test('self-send in a 2-rank job', async t => {
  allOk(t, await runRanks('self-send.ts'), 2);
});

t.test('self-send in a singleton (node program.ts, no zcmpirun)', async t => {
  const child = spawn(process.execPath, ['--import', 'tsx', p2pFixture('self-send.ts')], {
    cwd: root, env: { ...process.env, UCX_WARN_UNUSED_ENV_VARS: 'n' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', d => { out += d; });
  child.stderr.on('data', d => { err += d; });
  const code = await new Promise<number | null>(resolve => child.on('close', resolve));
  t.equal(code, 0, err);
  t.match(out, /^ok 0$/m);
});
