// A long wait (guardSetLongWaitMs) prints, every period, a line on stderr naming the rank,
// the request, the peer and the tag it waits for, then keeps waiting and completes.
import t from 'tap';
import { runFixture } from './support/guard.js';

for (const dir of ['out', 'in'] as const) {
  t.test(`a long wait on a ${dir === 'out' ? 'send' : 'receive'} is reported on stderr and still completes`, async t => {
    const r = runFixture('long-wait', [dir], { timeoutMs: 60000 });
    t.equal(r.status, 0, `exit 0 (signal ${r.signal})`);
    const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    t.ok(res.ms >= 700, `the access waited for the release (${res.ms?.toFixed(0)} ms)`);
    t.equal(res.value, 0x77, 'then its write landed');
    if (dir === 'in') t.equal(res.other, 0x31, 'after the received data');
    t.notOk(res.active, 'the guard was released');
    const lines = r.stderr.split('\n').filter(l => l.includes('still waiting'));
    t.ok(lines.length >= 2 && lines.length <= 6, `periodic messages (${lines.length} in ~900 ms at 200 ms)`);
    const call = dir === 'out' ? 'isend to rank 3' : 'irecv from rank 3';
    for (const l of lines.slice(0, 1)) {
      t.match(l, /^zcmpi: rank 5: /, 'names the rank');
      t.match(l, /request #4242/, 'names the request');
      t.match(l, call, 'names the call and the peer');
      t.match(l, /tag 77/, 'names the tag');
      t.match(l, /4096 bytes/, 'and the size');
    }
    t.comment(lines[0] ?? r.stderr);
  });
}
