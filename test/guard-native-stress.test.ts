// Native stress of the guard engine without Node (test/native/guard_stress.cpp): program
// threads post sends and receives on random unaligned ranges of arena and plain memory and
// touch them at once, device threads verify (sends) or fill (receives) and release at
// random times, neighbours of in-flight ranges are hammered; every byte is checked.
// Built with g++ plainly, then with -fsanitize=address,undefined and -fsanitize=thread.
//
// "Sharing pages" measures a documented limitation (docs/design.md, "Known race"): while
// one thread single-steps a collateral access, that page is open to every thread, so
// another program thread's access to its own in-flight bytes on the same page can slip
// through. It hit ~0.1% of transfers here (4-10 of 6000 with 2-3 program threads on two
// CPUs); with each thread on pages of its own there are none. This test asserts what must
// still hold (no crash, every protection restored, the rate stays small) and prints the count.
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

t.test('g++ build, 3 program threads sharing pages: no crash, protections restored, rare slips (documented race)', { timeout: 300000 }, async t => {
  if (!plain.ok) { t.fail('build failed'); return; }
  const r = runNative(plain.path, [ROUNDS, '3', '2']);
  t.comment(r.stdout.trim());
  const s = summary(r.stdout);
  t.equal(r.signal, null, `not killed by a signal (status ${r.status}, signal ${r.signal}; stderr: ${r.stderr.trim().split('\n').slice(-3).join(' | ')})`);
  t.ok(s?.restored, 'every page read-write again');
  const transfers = Number(ROUNDS) * 3;
  t.comment(`accesses that slipped through another thread's single step: ${s?.errors} of ${transfers} transfers`);
  t.ok(s !== null && s.errors <= transfers * 0.01, `slips stay rare (${s?.errors} <= 1% of ${transfers})`);
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
