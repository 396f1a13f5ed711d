// Read-only memory stays read-only: a send may guard it, a receive is refused, a write to
// it is never single-stepped through as collateral nor let through after a wait, and
// release restores PROT_READ, not read-write. JS never holds read-only memory, so this runs
// test/native/guard_readonly.cpp (see also guard-chain-segfault for the JS-side case).
import t from 'tap';
import { buildNative, runNative } from './support/native.js';

t.setTimeout(290000);  // native builds and several child runs: beyond tap's 30 s default on a loaded machine

const build = buildNative('guard_readonly');

const cases: [string, string, (t: any, r: ReturnType<typeof runNative>) => void][] = [
  ['inbound-refused', 'a receive guard on read-only memory is refused, naming it', (t, r) => {
    t.equal(r.status, 0, r.stdout.trim());
    t.match(r.stdout, /read-only/);
  }],
  ['read-ok', 'reads under a send guard work; release restores r--', (t, r) => {
    t.equal(r.status, 0, r.stdout.trim());
    t.match(r.stdout, /after release the page is r--p/);
  }],
  ['neighbour-write', 'a write next to a send guard on a read-only page dies of SIGSEGV', (t, r) => {
    t.equal(r.signal, 'SIGSEGV', `signal ${r.signal}, status ${r.status}: ${r.stdout.trim()}`);
    t.notMatch(r.stdout, /succeeded/);
  }],
  ['guarded-write', 'a write to the guarded bytes waits, then still dies of SIGSEGV', (t, r) => {
    t.equal(r.signal, 'SIGSEGV', `signal ${r.signal}, status ${r.status}: ${r.stdout.trim()}`);
    t.notMatch(r.stdout, /succeeded/);
  }],
  ['after-release', 'after release the page is r--p and a write dies of SIGSEGV', (t, r) => {
    t.match(r.stdout, /after release the page is r--p/);
    t.equal(r.signal, 'SIGSEGV', `signal ${r.signal}, status ${r.status}`);
  }],
  // Regression: the original protection used to be learned once and cached forever, so after
  // an unmap and a read-only remap a release made the page writable (found by this test;
  // fixed in 546eeac, which re-learns pages no guard covers).
  ['remapped', 'a page unmapped and remapped read-only after an earlier guard stays read-only', (t, r) => {
    t.match(r.stdout, /remapped read-only: r--p/, 'the new mapping is read-only');
    t.match(r.stdout, /after guard and release: r--p/, `release restored read-only (${r.stdout.trim().split('\n').pop()})`);
    t.equal(r.status, 0);
  }],
];

for (const [arg, what, check] of cases) {
  t.test(what, { timeout: 300000 }, async t => {
    t.ok(build.ok, `built ${build.ok ? '' : build.log}`);
    if (!build.ok) return;
    check(t, runNative(build.path, [arg], {}, 60000));
  });
}

// Chaining to a third-party SIGSEGV handler installed before the engine: AddressSanitizer's.
// A genuine fault on a tracked page must reach it and be reported as ASan reports it.
t.test('under AddressSanitizer a genuine write to read-only memory is still reported by ASan', { timeout: 300000 }, async t => {
  const b = buildNative('guard_readonly', 'asan', ['-O1', '-fsanitize=address']);
  t.ok(b.ok, `built ${b.ok ? '' : b.log}`);
  if (!b.ok) return;
  const r = runNative(b.path, ['neighbour-write'], {}, 60000);
  t.match(r.stderr, /ERROR: AddressSanitizer: SEGV on unknown address/, 'ASan reported the SEGV');
  t.match(r.stderr, /caused by a WRITE memory access/, 'as a write');
  t.not(r.status, 0, `the process failed (status ${r.status}, signal ${r.signal})`);
});
