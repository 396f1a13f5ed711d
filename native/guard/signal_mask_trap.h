// The guard's own signals stay deliverable on every thread.
//
// A guard fault (SIGSEGV), its single step (SIGTRAP) and a trapped futex call (SIGSYS,
// futex_trap.h) are synchronous: the kernel delivers them to the thread that made the
// access. When that thread blocks the signal, the kernel does not wait: it resets the
// handler to the default and kills the process. Code that blocks every signal for a
// moment and touches heap memory meanwhile is common: libuv does it for every signal
// watcher it starts or stops (`process.on('SIGINT')`), for its signal handler (installed
// with a full mask) and around fork; glibc around pthread_create. Heap memory shares pages
// with in-flight plain buffers, so such an access can meet a guard (a signal watcher
// allocated right after the buffer: seen here about once in 70 runs of
// test/fixtures/guard/inspector-signal.ts).
//
// So a second seccomp filter traps libc's rt_sigprocmask(SIG_BLOCK / SIG_SETMASK, set) and
// rt_sigaction(sig, act) calls, and the SIGSYS handler makes them itself without the three
// guard signals in the mask: the thread's mask becomes exactly what it asked for, minus
// those. Blocking a synchronous signal never did anything but kill the process when it
// arrived, so no correct program notices; a `kill -SEGV` sent to a thread that blocked it
// is delivered at once instead of staying pending. Handlers installed before the filter
// get the same treatment once, at install.
//
// That filter goes on the thread that initializes the guard engine (the JavaScript thread)
// and on every thread it creates afterwards (threads inherit filters), not on threads that
// already existed (futex_trap.cpp says why: TSYNC would reach threads still starting).
// Those keep their own masks: V8's platform workers, the libuv pool when it started
// earlier, Node's inspector watchdog (every signal blocked since startup; it runs only
// when SIGUSR1 wakes it, and the runtime takes SIGUSR1 over at init,
// runtime/inspector-signal.ts).
#pragma once

#include <signal.h>
#include <ucontext.h>

#include <cstdint>

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000  // the kernel's flag for a handler's sigreturn trampoline
#endif

namespace zc::guard {

// struct sigaction as the kernel takes it on x86-64 (rt_sigaction, sigsetsize 8).
struct KernelSigaction {
  void* handler;
  unsigned long flags;
  void* restorer;
  unsigned long mask;
};

inline constexpr uint64_t signal_bit(int sig) { return uint64_t{1} << (sig - 1); }

// The signals the guard engine must be able to deliver at any instruction.
inline constexpr uint64_t kGuardSignals = signal_bit(SIGSEGV) | signal_bit(SIGTRAP) | signal_bit(SIGSYS);

// Carry out a trapped rt_sigprocmask / rt_sigaction for the interrupted thread: arguments
// from the frame's registers, the result in its RAX; the mask a trapped rt_sigprocmask sets
// is written into the frame, which sigreturn installs. Async-signal-safe.
void emulate_rt_sigprocmask(ucontext_t* uc);
void emulate_rt_sigaction(ucontext_t* uc);

// Removes the guard signals from the masks of handlers installed so far (once, after the
// filter is in place; later installs are trapped). Not for signal context.
void clean_installed_handler_masks();

// True once the filter is in place on the initializing thread.
bool signal_mask_filter_installed();

// Calls emulated so far (statistics).
unsigned long signal_mask_calls_trapped();

}  // namespace zc::guard
