// A list of (function, context) listeners that memory registries call before pages go
// (arena.cpp's free listeners, staging.cpp's unmap listeners).
//
// Calls run with the list's own lock held, never the registry's: a listener may look the
// registry up, and remove() waits for a call in progress, so a transport that removes its
// listener at shutdown knows none is still running.
#pragma once

#include <mutex>
#include <utility>
#include <vector>

namespace zc::memory {

template <typename Arg>
class ListenerList {
 public:
  using Fn = void (*)(void* ctx, const Arg& arg);

  void add(Fn fn, void* ctx) {
    std::lock_guard<std::mutex> lock(mutex_);
    listeners_.emplace_back(fn, ctx);
  }

  // Removes the first listener registered with exactly (fn, ctx); nothing if none.
  void remove(Fn fn, void* ctx) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < listeners_.size(); i++) {
      if (listeners_[i].first == fn && listeners_[i].second == ctx) {
        listeners_.erase(listeners_.begin() + long(i));
        return;
      }
    }
  }

  void notify(const Arg& arg) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& l : listeners_) l.first(l.second, arg);
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<Fn, void*>> listeners_;
};

}  // namespace zc::memory
