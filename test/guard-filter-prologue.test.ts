// The prologue of the guard's two seccomp filters (native/guard/seccomp_filter.h) lets
// through every system call not made from libc's text. It compares the instruction
// pointer as two 32-bit words, and address randomisation puts libc's text across a 4 GiB
// boundary, or ending at one, too rarely to see in a real process. Runs
// test/native/guard_filter_prologue.cpp: stand-in text at chosen addresses (across a
// boundary, within one half, ending at a boundary, starting at one) and getppid from stubs
// inside and outside it, under a real filter in a child per case.
import t from 'tap';
import { buildNative, expectAllOk } from './support/native.js';

t.setTimeout(290000);  // a native build: beyond tap's 30 s default on a loaded machine

t.test('calls from inside the text are the filter\'s, calls from outside pass, wherever the text lies', async t => {
  expectAllOk(t, buildNative('guard_filter_prologue'), {});
});
