// The non-blocking collectives give what the blocking ones give: the whole matrix
// (fixtures/coll/matrix.ts: every element type and op, every buffer kind, roots 0, last and
// middle, counts 0, 1, fewer than the ranks, odd and past the algorithm switch points, in
// place) with every call made as its i-form plus a wait, on 1 to 8 ranks. The JavaScript-op
// suite stays blocking: those ops exist only there.
import t from 'tap';
import { allOk } from './support/p2p.js';
import { runColl } from './support/coll.js';

const SUITES = ['bcast', 'reduce', 'allreduce', 'gather', 'scatter', 'allgather', 'alltoall', 'vvariants', 'reducescatter', 'scan', 'inplace'];
const COUNTS = [1, 2, 3, 5, 8];
t.setTimeout(COUNTS.length * 600_000);
for (const np of COUNTS) {
  t.test(`every suite through the non-blocking forms with ${np} rank${np > 1 ? 's' : ''}`, async t => {
    allOk(t, await runColl('matrix.ts', ['--nonblocking', ...SUITES], np, { timeout: 540 }), np);
  });
}
