// 6000 requests in flight per rank per round (3000 receives, 3000 sends, mixed sizes and
// memory kinds, 1000 tags), three rounds reusing request slots.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('thousands of outstanding requests', async t => {
  allOk(t, await runRanks('many.ts', ['3000']), 2);
});
