#include "protocol/bounce_pool.h"

#include "memory/staging.h"

namespace zc::protocol {

namespace {

constexpr size_t kMinClassBytes = 4096;
// Buffers below this come from slabs of their own mappings (never malloc memory: a malloc'd
// bounce buffer can share a page with a small JavaScript buffer that is guarded no-access,
// and the kernel's read of it, the /proc/self/mem copy or a TCP send, then fails with EFAULT
// instead of faulting). Slabs are kept for the life of the process: a window of in-flight
// small messages then costs no system call at all (mapping and unmapping each buffer did:
// munmap's TLB shootdown made copied small sends slower than the copy itself). All of it is
// staging memory (memory/staging.h), so a transport that registers it with a NIC does so once
// per mapping and learns of each unmap.
constexpr size_t kSmallBelow = 128u << 10;
constexpr size_t kSlabBytes = 2u << 20;

int class_of(size_t len, size_t* cap) {
  size_t c = kMinClassBytes;
  int k = 0;
  while (c < len) {
    c <<= 1;
    k++;
  }
  *cap = c;
  return k;
}

}  // namespace

BouncePool::~BouncePool() {
  for (int k = 0; k < kClasses; k++) {
    if ((kMinClassBytes << k) < kSmallBelow) continue;  // slab memory, unmapped below
    for (void* p : free_[k]) zc::memory::unmap_staging(p, kMinClassBytes << k);
  }
  for (void* s : slabs_) zc::memory::unmap_staging(s, kSlabBytes);
}

void* BouncePool::get(size_t len, size_t* cap) {
  int k = class_of(len, cap);
  if (k >= kClasses) return nullptr;
  std::lock_guard<std::mutex> g(mutex_);
  if (!free_[k].empty()) {
    void* p = free_[k].back();
    free_[k].pop_back();
    if (*cap >= kSmallBelow) kept_bytes_ -= *cap;
    return p;
  }
  if (*cap < kSmallBelow) {
    if (slab_left_ < *cap) {
      void* s = zc::memory::map_staging(kSlabBytes);
      if (!s) return nullptr;
      slabs_.push_back(s);
      slab_next_ = static_cast<char*>(s);
      slab_left_ = kSlabBytes;
    }
    void* p = slab_next_;
    slab_next_ += *cap;
    slab_left_ -= *cap;
    return p;
  }
  return zc::memory::map_staging(*cap);
}

void BouncePool::put(void* p, size_t cap) {
  size_t c;
  int k = class_of(cap, &c);
  {
    std::lock_guard<std::mutex> g(mutex_);
    if (cap < kSmallBelow) {
      free_[k].push_back(p);  // slab memory: always recycled
      return;
    }
    if (k < kClasses && free_[k].size() < kKeepPerClass && kept_bytes_ + cap <= kKeepBytes) {
      free_[k].push_back(p);
      kept_bytes_ += cap;
      return;
    }
  }
  zc::memory::unmap_staging(p, cap);
}

}  // namespace zc::protocol
