// Memory registrations of the verbs transport.
//
// comm.alloc blocks are registered once, whole, through their DEVICE view: that view is
// never protected (the guard engine protects only the program view), so registration never
// meets a no-access or read-only page, and the NIC reaches the same physical pages either
// way (once pinned, page protections change only what the CPU may do). The registration is
// cached per block and dropped from the arena's free listener before the block's pages are
// unmapped: a later block at the same addresses gets a registration of its own.
//
// Staging memory (bounce buffers and collective scratch, memory/staging.h) is zcmpi's own:
// each mapping is registered whole on first use and the registration cached until the
// staging unmap listener drops it, before the pages go. A later mapping at the same address
// is a new mapping with a registration of its own, so none can go stale.
//
// Program memory without a device view (plain receive buffers in guard mode off) is
// registered for the one operation and deregistered when it completes: zcmpi cannot know
// when the program frees or reuses it, and no allocator hook exists (UCX's mmap hooks
// crashed Node), so there is no cache for it to go stale.
#pragma once

#include <infiniband/verbs.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "memory/arena.h"
#include "memory/staging.h"

namespace zc::transport::verbs {

struct MrRef {
  ibv_mr* mr = nullptr;
  bool owned = false;  // registered for this operation only
};

class Registrations {
 public:
  static constexpr int kAccess = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE;

  void set_pd(ibv_pd* pd) { pd_ = pd; }
  // Thread-safe (the caches have a lock of their own, always taken last: the unmap
  // listeners run inside the memory layer's listener lock, which a thread holding the
  // transport's lock may be waiting for). False with a message on failure.
  bool acquire(const void* addr, size_t len, MrRef* out, std::string* err);
  void release(MrRef* ref);
  // The arena is unmapping a block.
  void block_freed(const zc::memory::Block& b);
  // A staging mapping is being unmapped.
  void staging_unmapped(const zc::memory::StagingRegion& r);
  void clear();  // deregisters every cached registration
  struct Counts {
    uint64_t cached_made;  // cached registrations made so far
    uint64_t per_op;       // registrations made for one operation only
  };
  Counts counts() const;

 private:
  ibv_pd* pd_ = nullptr;
  mutable std::mutex mutex_;
  struct Cached {
    size_t size;
    ibv_mr* mr;
  };
  // Registers [addr, addr+len) with a message naming the limit on failure (null then).
  ibv_mr* reg(void* addr, size_t len, std::string* err);
  // Deregisters and forgets the cached registration of `base`, if any (takes mutex_).
  void drop(std::map<uintptr_t, Cached>& cache, const void* base);
  // Caller holds mutex_.
  bool cached(std::map<uintptr_t, Cached>& cache, void* base, size_t size, MrRef* out, std::string* err);
  std::map<uintptr_t, Cached> blocks_;   // keyed by device-view address
  std::map<uintptr_t, Cached> staging_;  // keyed by staging mapping base
  uint64_t cached_made_ = 0;  // cached registrations made (blocks and staging)
  uint64_t per_op_ = 0;
};

}  // namespace zc::transport::verbs
