// Instructions that touch two addresses wait when either conflicts (issue 6, item 2):
// `rep movsb` reading collateral bytes and writing guarded ones let 960 of 2048 received
// bytes survive a copy that program order puts after the receive. With and without
// protection keys, arena and plain memory.
import t from 'tap';
import { runFixture } from './support/guard.js';

t.setTimeout(290000);  // several child runs: beyond tap's 30 s default on a loaded machine

for (const kind of ['arena', 'plain']) {
  for (const keys of ['1', '0']) {
    t.test(`${kind} memory, ZCMPI_GUARD_PKEYS=${keys}: copy, fill and compare across a guard wait for it`, async t => {
      const r = runFixture('string-copy', [kind], { env: { ZCMPI_GUARD_PKEYS: keys }, timeoutMs: 60000 });
      t.equal(r.status, 0, `exit 0 (signal ${r.signal}) ${r.stderr.slice(-500)}`);
      const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
      t.comment(JSON.stringify(res));
      t.equal(res.copy?.wrong, 0, 'copyWithin: every destination byte holds the copied source');
      t.equal(res.copy?.messageBytesLeft, 0, 'no received byte survived the copy (it waited for the receive)');
      t.ok(res.copy?.waited >= 1 && res.copy?.ms > 200, `the copy waited (${res.copy?.ms?.toFixed(0)} ms)`);
      t.equal(res.fill?.wrong, 0, 'fill into the guard: every byte filled after the receive');
      t.ok(res.fill?.ms > 200, `the fill waited (${res.fill?.ms?.toFixed(0)} ms)`);
      t.equal(res.compare?.equal, true, 'compare saw the received bytes');
      t.ok(res.compare?.ms > 200, `the compare waited (${res.compare?.ms?.toFixed(0)} ms)`);
      t.equal(res.active, 0, 'no guard left');
    });
  }
}
