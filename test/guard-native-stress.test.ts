// Native stress of the guard engine without Node (test/native/guard_stress.cpp): program
// threads post sends and receives on random unaligned ranges of arena and plain memory and
// touch them at once, device threads verify (sends) or fill (receives) and release at
// random times, neighbours of in-flight ranges are hammered; every byte is checked.
// Built with g++ plainly, then with -fsanitize=address,undefined and -fsanitize=thread.
//
// "Sharing pages" is the single-step race: one thread's collateral access to a page while
// another thread touches its own in-flight bytes on that page. With protection keys the
// step opens the page for the stepping thread alone, so not one access may slip through.
// Without keys (ZCMPI_GUARD_PKEYS=0, or a CPU without PKU) the page is open to every
// thread for that instruction (docs/design.md, "Without protection keys"); that mode is
// run here with each thread on pages of its own, where it must be exact too. The sharing
// runs force keys on where the machine has them and skip, saying why, where it has none.
import t from 'tap';

t.setTimeout(290000);  // several runs and builds: far beyond tap's 30 s default on a loaded machine
import { buildNative, runNative } from './support/native.js';
import { machineHasProtectionKeys, NO_KEYS_SKIP } from './support/machine.js';

const ROUNDS = process.env.ZCMPI_NATIVE_STRESS_ROUNDS ?? '3000';
// Sharing pages needs keys; on a machine without them the sanitizer runs keep their threads
// on pages of their own (exact in both modes) so they still run everywhere.
const KEYS = machineHasProtectionKeys();
const SHARING: Record<string, string> = KEYS ? { ZCMPI_GUARD_PKEYS: '1' } : { ZC_STRESS_SEPARATE: '1' };

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

for (const threads of ['3', '4']) {
  t.test(`g++ build, ${threads} program threads sharing pages: zero slips, protections restored`, { timeout: 300000, skip: KEYS ? false : NO_KEYS_SKIP }, async t => {
    if (!plain.ok) { t.fail('build failed'); return; }
    const r = runNative(plain.path, [ROUNDS, threads, '2'], { ZCMPI_GUARD_PKEYS: '1' });
    t.comment(r.stdout.trim());
    if (r.status !== 0) t.comment(`status ${r.status}, signal ${r.signal}, stderr:\n${r.stderr}`);
    const s = summary(r.stdout);
    t.equal(r.status, 0, `exit 0 (status ${r.status}, signal ${r.signal}; stderr: ${r.stderr.trim().split('\n').slice(-3).join(' | ')})`);
    t.ok(s?.restored, 'every page read-write again');
    t.equal(s?.errors, 0, 'no access slipped through another thread\'s single step, no byte lost');
  });
}

t.test('g++ build without protection keys (ZCMPI_GUARD_PKEYS=0), pages of their own: zero bytes lost', { timeout: 300000 }, async t => {
  if (!plain.ok) { t.fail('build failed'); return; }
  const r = runNative(plain.path, [ROUNDS, '3', '2'], { ZC_STRESS_SEPARATE: '1', ZCMPI_GUARD_PKEYS: '0' });
  t.comment(r.stdout.trim());
  t.equal(r.status, 0, `exit 0 (signal ${r.signal}) ${r.stderr.slice(0, 600)}`);
  t.equal(summary(r.stdout)?.errors, 0, 'no byte lost or corrupted');
});

t.test('-fsanitize=address,undefined build: no findings', { timeout: 300000 }, async t => {
  const b = buildNative('guard_stress', 'asan', ['-O1', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined']);
  t.ok(b.ok, `built in ${b.ms} ms ${b.ok ? '' : b.log}`);
  if (!b.ok) return;
  // The engine installs its SIGSEGV handler after ASan's and chains to it; ASan must not
  // take guard faults first, and must still report genuine ones (allow_user_segv_handler).
  const r = runNative(b.path, [String(Math.ceil(Number(ROUNDS) / 2)), '3', '2'],
    { ...SHARING, ASAN_OPTIONS: 'allow_user_segv_handler=1:detect_leaks=1', UBSAN_OPTIONS: 'print_stacktrace=1' });
  t.comment(r.stdout.trim());
  t.notMatch(r.stderr, /ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer/, 'no sanitizer report');
  t.equal(r.status, 0, `exit 0 (signal ${r.signal}) ${r.stderr.slice(0, 1500)}`);
  t.equal(summary(r.stdout)?.errors, 0, 'no byte lost');
});

t.test('-fsanitize=thread build: no data races reported', { timeout: 300000 }, async t => {
  const b = buildNative('guard_stress', 'tsan', ['-O1', '-fsanitize=thread', '-Wno-tsan']);
  if (!b.ok) { t.skip(`no TSan build here: ${b.log.slice(0, 300)}`); return; }
  const r = runNative(b.path, [String(Math.ceil(Number(ROUNDS) / 3)), '3', '2'], { ...SHARING, TSAN_OPTIONS: 'halt_on_error=0' });
  if (/FATAL: ThreadSanitizer/.test(r.stderr)) { t.skip(`TSan cannot run here: ${r.stderr.slice(0, 300)}`); return; }
  t.comment(r.stdout.trim());
  t.notMatch(r.stderr, /WARNING: ThreadSanitizer/, `no race reported ${r.stderr.slice(0, 2000)}`);
  t.equal(r.status, 0, `exit 0 (signal ${r.signal})`);
  t.equal(summary(r.stdout)?.errors, 0, 'no byte lost');
});
