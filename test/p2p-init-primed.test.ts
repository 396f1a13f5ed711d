// init() primes the point-to-point calls with zero-byte messages to the rank itself
// (runtime/prime.ts); the program must see none of it: no guard, no protection change, no
// leftover request or message, its first request numbered 1. In every guard mode, and in a
// singleton (no launcher).
import t from 'tap';
import { allOk, runRanks, runSingleton } from './support/p2p.js';

for (const guard of ['block', 'strict', 'off'] as const) {
  t.test(`2 ranks, guard ${guard}`, async t => {
    allOk(t, await runRanks('init-primed.ts', [], { guard }), 2);
  });
}

t.test('a singleton (node program.ts, no zcmpirun)', async t => {
  const r = await runSingleton('init-primed.ts');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^ok 0$/m);
});
