// Futex waits and wakes, the one header for every layer: the fault handler's waits on a
// guard slot, the progress threads standing aside while a caller spins, the protocol's
// synchronous waits on a request's state word. It lives in the guard layer (the lowest)
// and keeps the fault handler's rules: async-signal-safe, errno as the caller had it.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>

#include "guard/raw_syscall.h"

namespace zc::guard {
long futex_with_guard_keys_open(long uaddr, long op, long val, long timeout, long uaddr2, long val3);
}

namespace zc {

namespace futex_detail {
template <class T> struct Same { using type = T; };
}  // namespace futex_detail

// Sleeps while *word == expected, until woken or timeout_ns elapses (0: no timeout).
// Returns false on timeout. Any 32-bit atomic (int32_t or uint32_t).
template <class T>
inline bool futex_wait(std::atomic<T>* word, typename futex_detail::Same<T>::type expected, int64_t timeout_ns = 0) {
  static_assert(sizeof(std::atomic<T>) == 4, "a futex word is 32 bits");
  struct timespec ts;
  struct timespec* tsp = nullptr;
  if (timeout_ns > 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    tsp = &ts;
  }
  // Raw calls (errno untouched, as a handler must): libc's syscall() would be trapped by
  // the futex filter. A word on a guarded page (our own state next to a plain buffer) is
  // waited on with the guard keys open, as the filter does for libc's waits.
  const long w = reinterpret_cast<long>(word);
  long r = raw_syscall6(SYS_futex, w, FUTEX_WAIT_PRIVATE, static_cast<long>(static_cast<uint32_t>(expected)),
                        reinterpret_cast<long>(tsp), 0, 0);
  if (r == -EFAULT)
    r = guard::futex_with_guard_keys_open(w, FUTEX_WAIT_PRIVATE, static_cast<long>(static_cast<uint32_t>(expected)),
                                          reinterpret_cast<long>(tsp), 0, 0);
  return r != -ETIMEDOUT;
}

template <class T>
inline void futex_wake_all(std::atomic<T>* word) {
  static_assert(sizeof(std::atomic<T>) == 4, "a futex word is 32 bits");
  raw_syscall6(SYS_futex, reinterpret_cast<long>(word), FUTEX_WAKE_PRIVATE, INT_MAX, 0, 0, 0);
}

inline uint64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// The spin-wait hint.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace zc
