// Memory registrations of the verbs transport.
//
// comm.alloc blocks are registered once, whole, through their DEVICE view: that view is
// never protected (the guard engine protects only the program view), so registration never
// meets a no-access or read-only page, and the NIC reaches the same physical pages either
// way (once pinned, page protections change only what the CPU may do). The registration is
// cached per block and dropped from the arena's free listener before the block's pages are
// unmapped: a later block at the same addresses gets a registration of its own.
//
// Any other memory (bounce buffers, plain receive buffers in guard mode off) is registered
// for the one operation and deregistered when it completes. There is no cache to go stale:
// nothing here needs to know when the program frees or reuses plain memory, so no
// allocator hook exists (UCX's mmap hooks crashed Node).
#pragma once

#include <infiniband/verbs.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "memory/arena.h"

namespace zc::transport::verbs {

struct MrRef {
  ibv_mr* mr = nullptr;
  bool owned = false;  // registered for this operation only
};

class Registrations {
 public:
  static constexpr int kAccess = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE;

  void set_pd(ibv_pd* pd) { pd_ = pd; }
  // Caller holds the transport's lock. False with a message on failure.
  bool acquire(const void* addr, size_t len, MrRef* out, std::string* err);
  void release(MrRef* ref);
  // The arena is unmapping a block (the caller holds the transport's lock).
  void block_freed(const zc::memory::Block& b);
  void clear();  // deregisters every cached block
  uint64_t cached_blocks() const { return blocks_.size(); }
  uint64_t per_operation_registrations() const { return per_op_; }

 private:
  ibv_pd* pd_ = nullptr;
  struct Cached {
    size_t size;
    ibv_mr* mr;
  };
  std::map<uintptr_t, Cached> blocks_;  // keyed by device-view address
  uint64_t per_op_ = 0;
};

}  // namespace zc::transport::verbs
