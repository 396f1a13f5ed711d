#include "protocol/shared_guards.h"

#include "guard/observation.h"

namespace zc::protocol {

struct SharedGuards::Entry {
  Key key;
  zc::guard::GuardId id = zc::guard::kNoGuard;
  int64_t refs = 0;
  int64_t in_flight = 0;  // refs whose transfer is not done (the rest wait to be observed)
};

bool SharedGuards::acquire(const void* addr, size_t len, zc::guard::Direction dir,
                           const zc::guard::RequestInfo& info, const char* js_stack, Entry** handle,
                           std::string* err) {
  *handle = nullptr;
  if (len == 0 || zc::guard::mode() == zc::guard::Mode::Off) return true;
  const Key key{reinterpret_cast<uintptr_t>(addr), len, int(dir)};
  {
    std::lock_guard<std::mutex> g(mutex_);
    auto it = map_.find(key);
    if (it != map_.end()) {
      Entry* e = it->second;
      e->refs++;
      if (e->in_flight++ == 0) zc::guard::set_transfer_done(e->id, false);  // in flight again
      *handle = e;
      return true;
    }
  }
  // First user of this range (or one racing with another first user: both acquire, which
  // the engine supports; only one of them is shared from then on).
  bool failed = false;
  char gerr[256] = {0};
  zc::guard::GuardId id =
      zc::guard::acquire(const_cast<void*>(addr), len, dir, info, js_stack, &failed, gerr, sizeof(gerr));
  if (failed) {
    *err = gerr;
    return false;
  }
  auto* e = new Entry();
  e->key = key;
  e->id = id;
  e->refs = 1;
  e->in_flight = 1;
  {
    std::lock_guard<std::mutex> g(mutex_);
    // Publish only if no other entry is current for this range (keep the older one).
    map_.emplace(key, e);
  }
  *handle = e;
  return true;
}

void SharedGuards::transfer_done(Entry* e) {
  if (!e) return;
  std::lock_guard<std::mutex> g(mutex_);
  if (--e->in_flight == 0) zc::guard::set_transfer_done(e->id, true);
}

void SharedGuards::release(Entry* e, bool in_flight) {
  if (!e) return;
  bool last = false;
  {
    std::lock_guard<std::mutex> g(mutex_);
    if (in_flight && --e->in_flight == 0 && e->refs > 1) zc::guard::set_transfer_done(e->id, true);
    if (--e->refs == 0) {
      last = true;
      auto it = map_.find(e->key);
      if (it != map_.end() && it->second == e) map_.erase(it);
    }
  }
  if (last) {
    zc::guard::release(e->id);
    delete e;
  }
}

}  // namespace zc::protocol
