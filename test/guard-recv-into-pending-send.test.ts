// A receive posted on bytes of a pending send waits for that send: the peer gets what the
// buffer held at isend and the receive's bytes land afterwards (registered and plain memory).
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

for (const kind of ['arena', 'plain']) {
  t.test(`${kind}: the send is not overwritten by the later receive`, async t => {
    allOk(t, await runRanks('../guard/recv-into-pending-send.ts', [kind], { guard: 'block', timeout: 25 }), 2);
  });
}
