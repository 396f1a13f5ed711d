// Code that blocks every signal and then touches a page shared with an in-flight buffer
// keeps working (native/guard/signal_mask_trap.h). A guard fault that arrives while the
// thread blocks SIGSEGV makes the kernel kill the process without running any handler:
// libuv starts and stops every signal watcher that way (a `process.on('SIGINT')` while a
// plain receive is in flight killed the rank when malloc put the watcher on the buffer's
// page), glibc creates threads that way, and handlers installed with a full mask run that way.
// Runs test/native/guard_blocked_signals.cpp with protection keys (where the machine has
// them), without them, and under ASan/UBSan; then a rank that churns signal listeners
// around plain receives.
import t from 'tap';
import { buildNative, runNative } from './support/native.js';
import { runFixture } from './support/guard.js';

t.setTimeout(290000);  // native builds: beyond tap's 30 s default on a loaded machine

const plain = buildNative('guard_blocked_signals');

const cases: [string, string][] = [
  ['mask', 'pthread_sigmask keeps its meaning for every other signal and never blocks SIGSEGV, SIGTRAP or SIGSYS'],
  ['collateral', 'with every signal blocked, accesses to bytes sharing a page with a receive guard go through'],
  ['conflict', 'with every signal blocked, a read of the guarded bytes waits for the release and sees the data'],
  ['handler', 'handlers installed with a full mask, before and after init, touch such bytes'],
  ['thread', 'a thread created while every signal is blocked touches such bytes'],
  ['starting', 'threads starting while init installs the filters all survive'],
];

for (const [mode, env] of [['protection keys', {}], ['mprotect (ZCMPI_GUARD_PKEYS=0)', { ZCMPI_GUARD_PKEYS: '0' }]] as const) {
  for (const [name, what] of cases) {
    t.test(`${mode}: ${what}`, async t => {
      t.ok(plain.ok, `built in ${plain.ms} ms ${plain.ok ? '' : plain.log}`);
      if (!plain.ok) return;
      // The starting case is a race: three runs (a filter installed on every thread at once
      // killed about half of them).
      for (let run = 0; run < (name === 'starting' ? 3 : 1); run++) {
        const r = runNative(plain.path, [name], env, 60000);
        t.equal(r.status, 0, `exit 0 (signal ${r.signal}): ${r.stdout.trim()} ${r.stderr.trim()}`);
        t.match(r.stdout, new RegExp(`^${name}: ok`, 'm'));
        t.match(r.stdout, /futex waits trapped; guard signals never blocked/, 'both filters are installed');
      }
    });
  }
}

t.test('-fsanitize=address,undefined build: every case, no findings', async t => {
  const b = buildNative('guard_blocked_signals', 'asan', ['-O1', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined']);
  t.ok(b.ok, `built in ${b.ms} ms ${b.ok ? '' : b.log}`);
  if (!b.ok) return;
  for (const [name] of cases) {
    const r = runNative(b.path, [name], { ASAN_OPTIONS: 'detect_leaks=0:allow_user_segv_handler=1:handle_segv=0' }, 60000);
    t.equal(r.status, 0, `${name}: exit 0 (signal ${r.signal}): ${r.stdout.trim()} ${r.stderr.trim().slice(0, 800)}`);
  }
});

for (const [mode, env] of [['protection keys', {}], ['mprotect (ZCMPI_GUARD_PKEYS=0)', { ZCMPI_GUARD_PKEYS: '0' }]] as const) {
  t.test(`${mode}: a rank adding and removing signal listeners around 300 plain receives, and receiving signals, survives with every receive intact`, async t => {
    const r = runFixture('signal-watchers', ['300'], { env, timeoutMs: 120000 });
    t.equal(r.status, 0, `exit 0 (signal ${r.signal}): ${r.stdout.trim()} ${r.stderr.trim().slice(0, 800)}`);
    t.match(r.stdout, /^ok 300 rounds, 12 signals delivered$/m);
  });
}
