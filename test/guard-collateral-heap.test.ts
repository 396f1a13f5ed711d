// Heap neighbours: a guarded small typed array shares its malloc page with thousands of
// other small arrays, malloc metadata and Node's allocations. Everything else on the page
// keeps working without waiting while the guard is held; the guarded array itself waits.
// Runs in a child (anything could go wrong when malloc's own pages are protected).
//
// The guarded array itself: its access must wait, except in the documented single-step race
// (docs/design.md, "Known race"): V8's and Node's background threads allocate on the same
// malloc pages, their accesses are single-stepped with the page open, and an access of the
// JS thread in that instant goes through. When that happens here the test says so in a
// comment instead of failing (it hit about 1 run in 3 on a loaded 2-CPU VM).
import t from 'tap';
import { runFixture } from './support/guard.js';

for (const dir of ['in', 'out'] as const) {
  t.test(`heap neighbours of a small ${dir === 'in' ? 'receive' : 'send'} buffer work without waiting`, async t => {
    const r = runFixture('heap-neighbours', [dir], { timeoutMs: 60000 });
    t.notOk(r.timedOut, 'the child finished');
    t.equal(r.status, 0, `exit 0 (signal ${r.signal}) ${r.stderr.slice(-500)}`);
    const line = r.stdout.trim().split('\n').pop() ?? '{}';
    const res = JSON.parse(line);
    t.equal(res.wrong, 0, 'every neighbour array read and wrote its own values (JS and native)');
    t.ok(res.stillActive, `all neighbour work (${res.neighbourMs?.toFixed(0)} ms) happened while the guard was held`);
    t.equal(res.neighbourWaits, 0, 'no neighbour access waited');
    t.ok(res.collateral > 0, `neighbour accesses were single-stepped (${res.collateral} collateral faults)`);
    if (res.victimWaits === 0 && res.victimMs < 500) {
      t.comment(`KNOWN RACE: the guarded array's access slipped through while another thread single-stepped its page (${res.collateral} collateral faults); see docs/design.md`);
    } else {
      t.ok(res.victimMs > 500, `the guarded array itself waited (${res.victimMs?.toFixed(0)} ms)`);
      t.equal(res.victimWaits, 1, 'one wait');
      if (dir === 'in') t.equal(res.seen, 0xab, 'and its read saw the received data');
      else t.equal(res.seen, ((2000 >> 1) & 0xff), 'its read saw the sent data');
      t.equal(res.victim8, 0x5e, 'the write to it landed after completion');
      t.equal(res.active, 0, 'no guard left');
    }
  });
}
