// Issue 6, item 4, through the real runtime: a rank posts 20000 (and 200000) receives before
// the message that lets its peer start sending. Each receive holds its own guard; all must
// be installed (none may turn into a wait on the JavaScript thread) and every one completes.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.setTimeout(290000);
for (const [count, kind] of [[20000, 'arena'], [20000, 'plain'], [200000, 'arena']] as const) {
  t.test(`${count} receives (${kind}) in flight before the peer may send`, { timeout: 280000 }, async t => {
    allOk(t, await runRanks('../guard/many-receives.ts', [String(count), kind], { guard: 'block', timeout: 200 }), 2, `${count} ${kind}`);
  });
}
