// waitall: statuses in the order of the requests; with failures, it waits for every
// request and then rejects (the error itself, or MultipleErrors).
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('waitall statuses and failures', async t => {
  allOk(t, await runRanks('waitall.ts'), 2);
});
