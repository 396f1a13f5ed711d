// A mutex or condition variable that only shares a page with an in-flight buffer keeps
// working (native/guard/futex_trap.cpp). The kernel makes futex waits on the program's
// behalf and honours the guard's protection: without the trap glibc aborts with "The
// futex facility returned an unexpected error code" (seen in CI: V8's GC job state and
// Node's callback queue next to a plain receive buffer). Runs test/native/guard_futex_neighbour.cpp
// with protection keys, without them, and under ASan/UBSan.
import t from 'tap';
import { buildNative, runNative } from './support/native.js';
import { runFixture } from './support/guard.js';

t.setTimeout(290000);  // native builds: beyond tap's 30 s default on a loaded machine

const plain = buildNative('guard_futex_neighbour');

const cases: [string, string][] = [
  ['mutex', 'a contended mutex on the page of a receive guard'],
  ['condvar', 'a condition variable wait on the page of a receive guard'],
  ['outbound', 'a contended mutex on the page of a send guard'],
  ['early-thread', 'a thread started before the guard keys existed waits on such a mutex'],
  ['exec', 'a program executed afterwards inherits the filter and its threads are unaffected'],
];

for (const [mode, env] of [['protection keys', {}], ['mprotect (ZCMPI_GUARD_PKEYS=0)', { ZCMPI_GUARD_PKEYS: '0' }]] as const) {
  for (const [name, what] of cases) {
    t.test(`${mode}: ${what}`, async t => {
      t.ok(plain.ok, `built in ${plain.ms} ms ${plain.ok ? '' : plain.log}`);
      if (!plain.ok) return;
      const r = runNative(plain.path, [name], env);
      t.equal(r.status, 0, `exit 0 (signal ${r.signal}): ${r.stdout.trim()} ${r.stderr.trim()}`);
      t.match(r.stdout, /futex waits trapped/, 'the futex trap is installed');
      t.notMatch(r.stderr, /futex facility/, 'glibc never saw EFAULT');
    });
  }
}

t.test('-fsanitize=address,undefined build: contended mutex and condition variable, no findings', async t => {
  const b = buildNative('guard_futex_neighbour', 'asan', ['-O1', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined']);
  t.ok(b.ok, `built in ${b.ms} ms ${b.ok ? '' : b.log}`);
  if (!b.ok) return;
  for (const name of ['mutex', 'condvar', 'early-thread']) {
    const r = runNative(b.path, [name, '50'], { ASAN_OPTIONS: 'detect_leaks=0' });
    t.equal(r.status, 0, `${name}: exit 0 (signal ${r.signal}): ${r.stdout.trim()} ${r.stderr.trim().slice(0, 800)}`);
  }
});

t.test('a rank woken by SIGUSR1 (Node\'s inspector thread blocks every signal), with a SIGSYS listener added and removed, survives the filter', async t => {
  const r = runFixture('inspector-signal', [], { timeoutMs: 60000 });
  t.equal(r.status, 0, `exit 0 (signal ${r.signal}): ${r.stdout.trim()} ${r.stderr.trim().slice(0, 800)}`);
  t.match(r.stdout, /^ok$/m);
  t.match(r.stderr, /Debugger listening on ws:/, 'SIGUSR1 still opened the inspector (runtime/inspector-signal.ts)');
});
