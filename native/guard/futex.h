// Futex waits and wakes: the only blocking primitive the fault handler may use.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace zc::guard {

// Waits while *word == expected, up to timeout_ms. Returns false on timeout.
inline bool futex_wait(std::atomic<uint32_t>* word, uint32_t expected, uint32_t timeout_ms) {
  struct timespec ts;
  ts.tv_sec = timeout_ms / 1000;
  ts.tv_nsec = static_cast<long>(timeout_ms % 1000) * 1000000L;
  int saved = errno;  // the handler must not leak errno into the interrupted code
  long r = syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, &ts, nullptr, 0);
  bool timed_out = r == -1 && errno == ETIMEDOUT;
  errno = saved;
  return !timed_out;
}

inline void futex_wake_all(std::atomic<uint32_t>* word) {
  int saved = errno;
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
  errno = saved;
}

}  // namespace zc::guard
