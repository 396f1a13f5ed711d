// A mutex the owning thread may take again.
//
// UCX runs completion callbacks inside ucp_worker_progress, and the protocol posts new
// operations from inside those callbacks (the native barrier sends its next round when a
// round's receive completes). UCX itself allows that; our own lock around the worker must
// too. The worker is created UCS_THREAD_MODE_SERIALIZED and this lock provides the
// serialization: the protocol needs a section of its own anyway (the barrier posts several
// operations without a callback interleaving, Transport::serialized), and a futex-based
// mutex puts a waiter to sleep where UCX's MULTI mode spins by default, which on two CPUs
// shared with another rank steals the CPU the holder needs. Contention is rare by design:
// the progress thread stands aside while the JavaScript thread polls. (Measured: a MULTI
// worker under this same lock gave the same 8-byte latency, 0.87-0.90 us, and 1 MiB
// bandwidth within run-to-run noise, so UCX's own locking buys nothing here.)
//
// Whoever holds it blocks every completion; the guard hook (transports/guard_hook.h) is told
// when it is taken and released, so the guard policy for holders lives above the transport.
#pragma once

#include <atomic>
#include <mutex>

#include "transports/guard_hook.h"

namespace zc::transport::ucx {

class ReentrantLock {
 public:
  void lock() {
    const int me = self();
    if (owner_.load(std::memory_order_relaxed) == me) {
      ++depth_;
      return;
    }
    mutex_.lock();
    owner_.store(me, std::memory_order_relaxed);
    depth_ = 1;
    if (auto taken = guard_hook().lock_taken) taken();
  }
  void unlock() {
    if (--depth_ == 0) {
      if (auto released = guard_hook().lock_released) released();
      owner_.store(0, std::memory_order_relaxed);
      mutex_.unlock();
    }
  }

 private:
  // A small per-thread number (never 0): cheaper than comparing std::thread::id.
  static int self() {
    static std::atomic<int> next{1};
    thread_local int id = next.fetch_add(1, std::memory_order_relaxed);
    return id;
  }
  std::mutex mutex_;
  std::atomic<int> owner_{0};
  int depth_ = 0;
};

}  // namespace zc::transport::ucx
