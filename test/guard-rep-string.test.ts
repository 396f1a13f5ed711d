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
import { asanEnv, buildNative, buildNativeAsan, expectAllOk, guardModes } from './support/native.js';

t.setTimeout(290000);  // native builds: beyond tap's 30 s default on a loaded machine

const plain = buildNative('guard_rep_string');

for (const [mode, env] of guardModes) {
  t.test(`${mode}: collateral rep stos/movs take one fault; iterations reaching a guard wait`, async t => {
    expectAllOk(t, plain, env);
  });
}

t.test('-fsanitize=address,undefined build: the same, no findings', async t => {
  expectAllOk(t, buildNativeAsan('guard_rep_string'), asanEnv);
});
