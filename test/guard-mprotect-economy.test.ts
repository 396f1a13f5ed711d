// Protection costs system calls only where needed: a contiguous guard is one mprotect to
// apply and one to lift, however many pages; a second guard on pages already protected
// the same way costs none; JS reads of a send in flight cost none.
import t from 'tap';
import { addon, memories, stats } from './support/guard.js';

addon.guardInit('block');

t.test('one mprotect per contiguous guard, none for a guard on already-protected pages', async t => {
  for (const m of memories().slice(0, 2)) {
    const v = m.at(0, 256 * 1024).bytes;  // 64 pages
    let s0 = stats().mprotectCalls;
    const a = addon.guardAcquire(v, 'out');
    t.equal(stats().mprotectCalls - s0, 1, `${m.kind}: 64 pages protected with one call`);
    s0 = stats().mprotectCalls;
    const b = addon.guardAcquire(v.subarray(4096, 8192), 'out');
    let sum = 0;
    for (let i = 0; i < v.length; i += 512) sum += v[i];
    t.equal(stats().mprotectCalls - s0, 0, `${m.kind}: a second send inside it and reads cost nothing (${sum})`);
    addon.guardRelease(b);
    t.equal(stats().mprotectCalls - s0, 0, `${m.kind}: releasing the inner send keeps the protection, no call`);
    addon.guardRelease(a);
    t.equal(stats().mprotectCalls - s0, 1, `${m.kind}: lifting 64 pages is one call`);
  }
});

// Regression: converge() used to work in chunks of 256 pages, so a 16 MiB guard cost 16
// calls each way (found by this test, fixed in f406785).
t.test('a 16 MiB guard on a huge-aligned block: one call each way', async t => {
  const v = new Uint8Array(addon.alloc(16 << 20));
  const s0 = stats().mprotectCalls;
  const id = addon.guardAcquire(v, 'in');
  addon.guardRelease(id);
  t.equal(stats().mprotectCalls - s0, 2, 'protect + lift');
  v[(16 << 20) - 1] = 1;
  t.equal(v[(16 << 20) - 1], 1, 'accessible afterwards');
});
