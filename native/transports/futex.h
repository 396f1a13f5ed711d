// Minimal futex wrappers: the cheapest way for one thread to sleep until another changes a
// 32-bit word. Used by the progress thread (standing aside while a caller spins) and by
// the protocol's synchronous waits (sleeping on a request's state word).
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace zc::transport {

// Sleeps while *word == expected (or until woken / timeout_ns elapses; 0 = no timeout).
inline void futex_wait(std::atomic<int32_t>* word, int32_t expected, int64_t timeout_ns = 0) {
  struct timespec ts;
  struct timespec* tsp = nullptr;
  if (timeout_ns > 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    tsp = &ts;
  }
  syscall(SYS_futex, reinterpret_cast<int32_t*>(word), FUTEX_WAIT_PRIVATE, expected, tsp, nullptr, 0);
}

inline void futex_wake_all(std::atomic<int32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<int32_t*>(word), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
}

inline uint64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace zc::transport
