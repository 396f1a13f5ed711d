// ANY_TAG receives report the tag they matched (including 0 and tags near 2^31), in order.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('ANY_TAG matches in order and reports the tag', async t => {
  allOk(t, await runRanks('ordering.ts', ['anytag']), 2);
});
