// Kernel futex waits on guarded pages.
//
// A plain buffer (malloc memory) shares its first and last pages with whatever malloc put
// next to it: V8's job states, Node's callback queues, mutexes and condition variables of
// every library. A guarded page denies the program's access, and the kernel honours that
// denial when it reads user memory on a thread's behalf: a FUTEX_WAIT on a mutex that only
// shares a page with an in-flight receive buffer fails with EFAULT, and glibc aborts the
// process ("The futex facility returned an unexpected error code"). User-space accesses
// fault and are let through one instruction at a time (fault_handler.cpp); a system call
// cannot be stepped.
//
// So futex calls made by libc (every pthread mutex, condition variable, semaphore, join)
// are trapped with a seccomp filter (SECCOMP_RET_TRAP -> SIGSYS) and made again by the
// handler with the guard keys open for that one call: the kernel then reads the word as if
// no guard were there, with exactly the futex semantics the caller asked for. Wakes of
// private futexes (the unlock path) never read user memory and are not trapped. Calls
// from anywhere but libc's code (zcmpi's own raw syscalls, other processes after exec,
// whose libc is mapped elsewhere) pass the filter untouched. The same install adds a
// second filter for the signal-mask calls on the installing thread (signal_mask_trap.h);
// one SIGSYS handler serves both.
#pragma once

#include <cstddef>

namespace zc::guard {

// Installs the SIGSYS handler and the filter on every thread of the process, once. Needs
// either CAP_SYS_ADMIN or no_new_privs, which it then sets (setuid programs started from
// this process no longer gain privileges). Returns false with the reason when the filter
// cannot be used; guards still work, but a futex wait on a page shared with an in-flight
// plain buffer aborts. Not for signal context.
bool install_futex_trap(char* why, size_t whylen);

// futex(2) with the guard keys open in this thread for the call (zcmpi's own code, so the
// filter passes it); in mprotect mode an EFAULT on a page zcmpi protects becomes a spurious
// wake after 20 us. Returns -errno on failure. Async-signal-safe.
long futex_with_guard_keys_open(long uaddr, long op, long val, long timeout, long uaddr2, long val3);

// Futex calls the handler redid (statistics; zero until a wait met a guarded page or
// contended a lock in libc).
unsigned long futex_calls_trapped();

}  // namespace zc::guard
