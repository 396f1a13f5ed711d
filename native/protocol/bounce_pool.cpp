#include "protocol/bounce_pool.h"

#include <sys/mman.h>

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

// Every buffer is a mapping of its own, never malloc memory: a malloc'd bounce buffer can
// share a page with a small JavaScript buffer that is guarded no-access, and the kernel's
// read of it (the /proc/self/mem copy, a TCP send) then fails with EFAULT instead of
// faulting. The pool keeps small ones around so steady state costs no system call.
constexpr size_t kSmallBelow = 128u << 10;

void unmap(void* p, size_t cap) { munmap(p, cap); }

void* map(size_t cap) {
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
    const size_t keep = cap < kSmallBelow ? kKeepSmallPerClass : kKeepPerClass;
    if (k < kClasses && free_[k].size() < keep && kept_bytes_ + cap <= kKeepBytes) {
      free_[k].push_back(p);
      kept_bytes_ += cap;
      return;
    }
  }
  unmap(p, cap);
}

}  // namespace zc::protocol
