#include "protocol/bounce_pool.h"

#include <sys/mman.h>

#include <cstdlib>

namespace zc::protocol {

namespace {

constexpr size_t kMinClassBytes = 4096;

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

// Small buffers come from malloc (cheap, recycled by malloc itself); large ones are their
// own mappings, so returning them gives the memory back to the system.
constexpr size_t kMallocBelow = 128u << 10;

void unmap(void* p, size_t cap) {
  if (cap < kMallocBelow) std::free(p);
  else munmap(p, cap);
}

void* map(size_t cap) {
  if (cap < kMallocBelow) return std::malloc(cap);
  void* p = mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  // Large bounce buffers are copied through twice per message; huge pages halve the TLB
  // misses and the page faults of the first use.
  if (cap >= (2u << 20)) madvise(p, cap, MADV_HUGEPAGE);
  return p;
}

}  // namespace

BouncePool::~BouncePool() {
  for (int k = 0; k < kClasses; k++)
    for (void* p : free_[k]) unmap(p, kMinClassBytes << k);
}

void* BouncePool::get(size_t len, size_t* cap) {
  int k = class_of(len, cap);
  if (k >= kClasses) return nullptr;
  {
    std::lock_guard<std::mutex> g(mutex_);
    if (!free_[k].empty()) {
      void* p = free_[k].back();
      free_[k].pop_back();
      kept_bytes_ -= *cap;
      return p;
    }
  }
  return map(*cap);
}

void BouncePool::put(void* p, size_t cap) {
  size_t c;
  int k = class_of(cap, &c);
  {
    std::lock_guard<std::mutex> g(mutex_);
    const size_t keep = cap < kMallocBelow ? kKeepSmallPerClass : kKeepPerClass;
    if (k < kClasses && free_[k].size() < keep && kept_bytes_ + cap <= kKeepBytes) {
      free_[k].push_back(p);
      kept_bytes_ += cap;
      return;
    }
  }
  unmap(p, cap);
}

}  // namespace zc::protocol
