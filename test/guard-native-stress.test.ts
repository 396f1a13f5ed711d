// Native stress of the guard engine without Node (test/native/guard_stress.cpp): program
// threads post sends and receives on random unaligned ranges of arena and plain memory and
// touch them at once, device threads verify (sends) or fill (receives) and release at
// random times, neighbours of in-flight ranges are hammered; every byte is checked.
// Built with g++ plainly, then with -fsanitize=address,undefined and -fsanitize=thread.
//
// "Sharing pages" FAILS today: while a collateral access is single-stepped, its page is
// open to its original protection for every thread, so another program thread's access to
// its own in-flight bytes on that page goes through without waiting (a write corrupts a
// send the device has not read yet, a read sees a receive before the device wrote it).
// docs/design.md calls this a "known narrow race"; here it hits ~0.3-0.5% of transfers with
// three program threads on two CPUs. With each thread on pages of its own, zero errors.
// Since 546eeac (re-learning the original protection of idle pages) it can also die of
// SIGSEGV: a page whose counts are all zero can still carry a protection zcmpi applied
// (a fault handler's converge_page is between a stale mprotect and its redo); acquire then
// re-learns that as the page's original (PROT_NONE or read-only), refuses the guard ("is
// read-only memory") and later faults there chain to the default action.
import t from 'tap';
import { buildNative, runNative } from './support/native.js';

const ROUNDS = process.env.ZCMPI_NATIVE_STRESS_ROUNDS ?? '3000';

function summary(out: string) {
  const m = /transfers.*errors (\d+) \(device saw (\d+)\); protections (\w+)/.exec(out);
  return m ? { errors: Number(m[1]), device: Number(m[2]), restored: m[3] === 'restored' } : null;
}

const plain = buildNative('guard_stress', 'plain', ['-O2']);

t.test('g++ build, 3 program threads on pages of their own: zero bytes lost, protections restored', { timeout: 300000 }, async t => {
  t.ok(plain.ok, `built in ${plain.ms} ms ${plain.ok ? '' : plain.log}`);
  if (!plain.ok) return;
  const r = runNative(plain.path, [ROUNDS, '3', '2'], { ZC_STRESS_SEPARATE: '1' });
  t.comment(r.stdout.trim());
  const s = summary(r.stdout);
  t.equal(r.status, 0, `exit 0 (signal ${r.signal}) ${r.stderr.slice(0, 600)}`);
  t.equal(s?.errors, 0, 'no byte lost or corrupted');
  t.ok(s?.restored, 'every page read-write again');
});

t.test('g++ build, 3 program threads sharing pages: zero bytes lost', { timeout: 300000 }, async t => {
  if (!plain.ok) { t.fail('build failed'); return; }
  const r = runNative(plain.path, [ROUNDS, '3', '2']);
  t.comment(r.stdout.trim());
  const s = summary(r.stdout);
  t.equal(r.signal, null, `not killed by a signal (status ${r.status}, signal ${r.signal}; stderr: ${r.stderr.trim().split('\n').slice(-3).join(' | ')})`);
  t.equal(s?.errors, 0, `no byte lost or corrupted (first errors: ${r.stderr.split('\n').slice(0, 3).join(' | ')})`);
  t.ok(s?.restored, 'every page read-write again');
});

t.test('-fsanitize=address,undefined build: no findings', { timeout: 300000 }, async t => {
  const b = buildNative('guard_stress', 'asan', ['-O1', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined']);
  t.ok(b.ok, `built in ${b.ms} ms ${b.ok ? '' : b.log}`);
  if (!b.ok) return;
  // The engine installs its SIGSEGV handler after ASan's and chains to it; ASan must not
  // take guard faults first, and must still report genuine ones (allow_user_segv_handler).
  const r = runNative(b.path, [String(Math.ceil(Number(ROUNDS) / 2)), '3', '2'],
    { ZC_STRESS_SEPARATE: '1', ASAN_OPTIONS: 'allow_user_segv_handler=1:detect_leaks=1', UBSAN_OPTIONS: 'print_stacktrace=1' });
  t.comment(r.stdout.trim());
  t.notMatch(r.stderr, /ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer/, 'no sanitizer report');
  t.equal(r.status, 0, `exit 0 (signal ${r.signal}) ${r.stderr.slice(0, 1500)}`);
  t.equal(summary(r.stdout)?.errors, 0, 'no byte lost');
});

t.test('-fsanitize=thread build: no data races reported', { timeout: 300000 }, async t => {
  const b = buildNative('guard_stress', 'tsan', ['-O1', '-fsanitize=thread', '-Wno-tsan']);
  if (!b.ok) { t.skip(`no TSan build here: ${b.log.slice(0, 300)}`); return; }
  const r = runNative(b.path, [String(Math.ceil(Number(ROUNDS) / 3)), '3', '2'], { ZC_STRESS_SEPARATE: '1', TSAN_OPTIONS: 'halt_on_error=0' });
  if (/FATAL: ThreadSanitizer/.test(r.stderr)) { t.skip(`TSan cannot run here: ${r.stderr.slice(0, 300)}`); return; }
  t.comment(r.stdout.trim());
  t.notMatch(r.stderr, /WARNING: ThreadSanitizer/, `no race reported ${r.stderr.slice(0, 2000)}`);
  t.equal(r.status, 0, `exit 0 (signal ${r.signal})`);
  t.equal(summary(r.stdout)?.errors, 0, 'no byte lost');
});
