// Bounce buffers for receives into plain JavaScript memory (and copies of plain sends).
//
// UCX copies with the CPU through the process's page tables, and a guarded receive buffer
// is no-access, so a receive into memory without a device view lands in a bounce buffer
// and is copied into the user's pages (through memory::write_through) at completion.
// Buffers are recycled by power-of-two size class: a program receiving into the same
// plain buffer again and again reuses one bounce buffer whose pages are already faulted in.
// Small ones (below 128 KiB) are carved from 2 MiB slabs that are never returned; large ones
// are mappings of their own, a few kept for reuse.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

namespace zc::protocol {

class BouncePool {
 public:
  BouncePool() = default;
  ~BouncePool();
  BouncePool(const BouncePool&) = delete;
  BouncePool& operator=(const BouncePool&) = delete;

  // A buffer of at least len bytes (len > 0), its capacity in *cap; null on failure.
  void* get(size_t len, size_t* cap);
  void put(void* p, size_t cap);

 private:
  static constexpr int kClasses = 48;
  static constexpr size_t kKeepPerClass = 4;
  static constexpr size_t kKeepBytes = 64u << 20;  // never hoard more than this
  // Taken briefly by the posting thread and the completing thread; neither ever holds it
  // while running JavaScript or waiting for anything.
  std::mutex mutex_;
  std::vector<void*> free_[kClasses];
  size_t kept_bytes_ = 0;  // large buffers kept for reuse
  std::vector<void*> slabs_;  // small buffers are carved from these
  char* slab_next_ = nullptr;
  size_t slab_left_ = 0;
};

}  // namespace zc::protocol
