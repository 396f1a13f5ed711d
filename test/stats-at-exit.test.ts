// ZCMPI_STATS=1: every rank prints its statistics on stderr at exit; without it, nothing.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('ZCMPI_STATS=1 prints each rank\'s counters at exit', async t => {
  const r = await runRanks('sizes.ts', [], { np: 2, env: { ZCMPI_STATS: '1' } });
  allOk(t, r, 2);
  for (const rank of [0, 1]) {
    t.match(r.stderr, new RegExp(`^zcmpi\\[${rank}\\] stats: transport ucx$`, 'm'), `rank ${rank} header`);
    t.match(r.stderr, new RegExp(`^zcmpi\\[${rank}\\] stats: guards acquired\\s+\\d+$`, 'm'), `rank ${rank} guards`);
    t.match(r.stderr, new RegExp(`^zcmpi\\[${rank}\\] stats: mprotect calls\\s+\\d+$`, 'm'), `rank ${rank} mprotect`);
  }
});

t.test('without ZCMPI_STATS nothing is printed', async t => {
  const r = await runRanks('sizes.ts', [], { np: 2 });
  allOk(t, r, 2);
  t.notMatch(r.stderr, /stats:/);
});
