// init() primes the point-to-point calls with zero-byte messages to the rank itself
// (runtime/prime.ts); the program must see none of it: no guard, no protection change, no
// leftover request or message, its first request numbered 1. In every guard mode, and in a
// singleton (no launcher).
import t from 'tap';
import { spawn } from 'node:child_process';
import { allOk, p2pFixture, root, runRanks } from './support/p2p.js';

for (const guard of ['block', 'strict', 'off'] as const) {
  t.test(`2 ranks, guard ${guard}`, async t => {
    allOk(t, await runRanks('init-primed.ts', [], { guard }), 2);
  });
}

t.test('a singleton (node program.ts, no zcmpirun)', async t => {
  const child = spawn(process.execPath, ['--import', 'tsx', p2pFixture('init-primed.ts')], {
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
