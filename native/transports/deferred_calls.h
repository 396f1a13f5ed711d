// Work a post hands to whichever thread progresses next (Transport::defer): the progress
// thread, or a caller's progress() in a wait. A non-blocking collective's post queues its
// schedule's start here instead of running its first rounds on the program's thread (where
// a rendezvous the peer already began would be read, reduced and answered inside the post,
// so the program got its thread back only when most of the collective was done).
//
// push may be called from any thread; drain only with the transport's lock held (the
// calls run under it, as completion callbacks do). pending() pairs with the progress
// thread's `sleeping` flag (both seq_cst): a push either sees the thread asleep and wakes
// it, or the thread sees the push before it sleeps.
#pragma once

#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

namespace zc::transport {

class DeferredCalls {
 public:
  using Fn = void (*)(void*);

  void push(Fn fn, void* arg) {
    {
      std::lock_guard<std::mutex> g(mutex_);
      calls_.emplace_back(fn, arg);
    }
    pending_.store(true, std::memory_order_seq_cst);
  }

  bool pending() const { return pending_.load(std::memory_order_seq_cst); }

  // Runs every queued call in the order pushed, including ones pushed by the calls
  // themselves; returns how many ran.
  unsigned drain() {
    if (!pending_.load(std::memory_order_acquire)) return 0;
    unsigned n = 0;
    for (;;) {
      std::vector<std::pair<Fn, void*>> batch;
      {
        std::lock_guard<std::mutex> g(mutex_);
        if (calls_.empty()) {
          pending_.store(false, std::memory_order_seq_cst);
          return n;
        }
        batch.swap(calls_);
      }
      for (auto& c : batch) c.first(c.second);
      n += unsigned(batch.size());
    }
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<Fn, void*>> calls_;
  std::atomic<bool> pending_{false};
};

}  // namespace zc::transport
