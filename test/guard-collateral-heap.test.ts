// Heap neighbours: a guarded small typed array shares its malloc page with thousands of
// other small arrays, malloc metadata and Node's allocations. Everything else on the page
// keeps working without waiting while the guard is held; the guarded array itself waits.
// Runs in a child (anything could go wrong when malloc's own pages are protected).
//
// The guarded array itself must wait, every run: V8's and Node's background threads
// allocate on the same malloc pages and are single-stepped through them meanwhile, but a
// step opens the page for the stepping thread only (protection keys), never for the JS
// thread. Without keys this race is documented (docs/design.md) and that test is skipped.
import t from 'tap';
import { runFixture } from './support/guard.js';
import { machineHasProtectionKeys, NO_KEYS_SKIP } from './support/machine.js';

// Keys wherever the machine has them (whatever ZCMPI_GUARD_PKEYS the suite was started with).
const KEYS = machineHasProtectionKeys();

type Result = ReturnType<typeof runFixture>;
for (const dir of ['in', 'out'] as const) {
  const what = dir === 'in' ? 'receive' : 'send';
  let run: Result | null = null;
  const result = (): Result => (run ??= runFixture('heap-neighbours', [dir], { timeoutMs: 60000, env: KEYS ? { ZCMPI_GUARD_PKEYS: '1' } : {} }));
  const parsed = () => JSON.parse(result().stdout.trim().split('\n').pop() ?? '{}');
  t.test(`heap neighbours of a small ${what} buffer work without waiting`, async t => {
    const r = result();
    t.notOk(r.timedOut, 'the child finished');
    t.equal(r.status, 0, `exit 0 (signal ${r.signal}) ${r.stderr.slice(-500)}`);
    const res = parsed();
    t.equal(res.wrong, 0, 'every neighbour array read and wrote its own values (JS and native)');
    t.ok(res.stillActive, `all neighbour work (${res.neighbourMs?.toFixed(0)} ms) happened while the guard was held`);
    t.equal(res.neighbourWaits, 0, 'no neighbour access waited');
    t.ok(res.collateral > 0, `neighbour accesses were single-stepped (${res.collateral} collateral faults)`);
  });
  t.test(`the small ${what} buffer itself waits while its neighbours are stepped`, { skip: KEYS ? false : NO_KEYS_SKIP }, async t => {
    const res = parsed();
    t.match(String(res.mechanism), /^protection keys/, 'the machine has keys: guards use them');
    t.ok(res.victimMs > 500, `the guarded array itself waited (${res.victimMs?.toFixed(0)} ms)`);
    t.equal(res.victimWaits, 1, 'one wait');
    if (dir === 'in') t.equal(res.seen, 0xab, 'and its read saw the received data');
    else t.equal(res.seen, ((2000 >> 1) & 0xff), 'its read saw the sent data');
    t.equal(res.victim8, 0x5e, 'the write to it landed after completion');
    t.equal(res.active, 0, 'no guard left');
  });
}
