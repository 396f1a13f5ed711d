// rep stos / rep movs over collateral bytes of a guarded page. The trap flag stops a rep
// string instruction after every iteration, so stepping one took a fault and a trap per
// byte: glibc's memset of a new 8 KiB ArrayBuffer beside an in-flight receive cost 60 ms,
// and a rank adding signal listeners around plain receives ran for minutes on CPUs where
// glibc picks `rep stosb` (ERMS). The fault handler now carries those iterations out itself
// (native/guard/rep_string_emulation.h); iterations that reach guarded bytes still wait.
// Also an AVX-512 masked store beside a guard, which counted as a whole 64-byte vector and
// waited for a receive only this rank's later send could complete. Runs
// test/native/guard_rep_string.cpp with protection keys (where the machine has them),
// without them and under ASan/UBSan.
import t from 'tap';
import { buildNative, runNative } from './support/native.js';

t.setTimeout(290000);  // native builds: beyond tap's 30 s default on a loaded machine

const plain = buildNative('guard_rep_string');

for (const [mode, env] of [['protection keys', {}], ['mprotect (ZCMPI_GUARD_PKEYS=0)', { ZCMPI_GUARD_PKEYS: '0' }]] as const) {
  t.test(`${mode}: collateral rep stos/movs take one fault; iterations reaching a guard wait`, async t => {
    t.ok(plain.ok, `built in ${plain.ms} ms ${plain.ok ? '' : plain.log}`);
    if (!plain.ok) return;
    const r = runNative(plain.path, [], env, 60000);
    t.equal(r.status, 0, `exit 0 (signal ${r.signal}): ${r.stdout.trim()} ${r.stderr.trim()}`);
    t.match(r.stdout, /^all ok$/m);
    t.notMatch(r.stdout, /FAILED/);
  });
}

t.test('-fsanitize=address,undefined build: the same, no findings', async t => {
  const b = buildNative('guard_rep_string', 'asan', ['-O1', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined']);
  t.ok(b.ok, `built in ${b.ms} ms ${b.ok ? '' : b.log}`);
  if (!b.ok) return;
  const r = runNative(b.path, [], { ASAN_OPTIONS: 'detect_leaks=0:allow_user_segv_handler=1:handle_segv=0' }, 60000);
  t.equal(r.status, 0, `exit 0 (signal ${r.signal}): ${r.stdout.trim()} ${r.stderr.trim().slice(0, 800)}`);
  t.match(r.stdout, /^all ok$/m);
});
