// libc's strlen and kin read a vector past a string's end. A string right before an
// in-flight receive made that over-read look like an early read of the buffer, and the
// access waited for the transfer: a spawn (Node reads every environment variable with
// strlen) while a receive from this same rank was pending hung for good. Now such reads are
// collateral (native/guard/scanning_functions.h); a memcpy running into the guard and a
// strnlen inside it still wait and see the received bytes. Runs
// test/native/guard_string_overread.cpp with protection keys (where the machine has them),
// without them and under ASan/UBSan, then a rank spawning children around plain receives.
import t from 'tap';
import { asanEnv, buildNative, buildNativeAsan, expectAllOk, guardModes } from './support/native.js';
import { runFixture } from './support/guard.js';

t.setTimeout(290000);  // native builds: beyond tap's 30 s default on a loaded machine

const plain = buildNative('guard_string_overread');

for (const [mode, env] of guardModes) {
  t.test(`${mode}: over-reads of strings before a receive guard go through; reads of its bytes wait`, async t => {
    expectAllOk(t, plain, env);
  });
}

t.test('-fsanitize=address,undefined build: the same, no findings', async t => {
  expectAllOk(t, buildNativeAsan('guard_string_overread'), asanEnv);
});

t.test('the addon found libc\'s scanning functions (unwind tables through libgcc)', async t => {
  const { addon } = await import('./support/guard.js');
  addon.guardInit('block');
  const m = /(\d+) scanning string functions known/.exec(addon.guardMechanism());
  t.ok(m && Number(m[1]) >= 8, `guardMechanism(): ${addon.guardMechanism()}`);
});

for (const [mode, env] of guardModes) {
  t.test(`${mode}: a rank spawning 60 children around plain receives from itself finishes, every receive intact`, async t => {
    const r = runFixture('spawn-in-flight', ['60'], { env, timeoutMs: 120000 });
    t.equal(r.status, 0, `exit 0 (signal ${r.signal}${r.timedOut ? ', timed out' : ''}): ${r.stdout.trim()} ${r.stderr.trim().slice(0, 800)}`);
    t.match(r.stdout, /^ok 60$/m);
  });
}
