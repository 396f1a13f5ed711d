// A system call made from zcmpi's own code rather than through libc's syscall(): the futex
// trap's seccomp filter (futex_trap.cpp) only traps calls from libc's text, so zcmpi's own
// futex waits and the trap handler's redone calls pass it without a SIGSYS. Returns the
// kernel's result (-errno on failure); errno is untouched.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace zc {

inline long raw_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
#if defined(__x86_64__)
  long ret;
  register long r10 asm("r10") = a4;
  register long r8 asm("r8") = a5;
  register long r9 asm("r9") = a6;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
#else
  const int saved = errno;
  long r = syscall(n, a1, a2, a3, a4, a5, a6);
  if (r == -1) r = -errno;
  errno = saved;
  return r;
#endif
}

}  // namespace zc
