// The program bytes of every guarded request in flight, so that a new post is ordered like
// the program access it is (p2p_post.cpp):
//   - a send reads its bytes: it comes after every pending receive into any of them, and so
//     carries the received bytes (plain and registered memory alike: the device view of a
//     registered buffer would otherwise hand the transport the bytes from before the
//     receive, and a plain send would fault on the receive's guard, under the transport
//     lock when UCX copies it inline: a deadlock with the progress thread);
//   - a receive writes them: it comes after every pending send that still reads them.
// Requests in the same direction need no order (two sends only read; receives into the same
// buffer are the osu_bw window, whose result MPI leaves undefined).
//
// Entries exist exactly while a request holds its guard (added before the guarding thread
// publishes kGuarded, removed when it finishes), so guard mode off costs nothing here.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "protocol/request_table.h"

namespace zc::protocol {

class InFlightRanges {
 public:
  // r->guard_addr, r->user_len and r->kind say what and which side. Any thread.
  void add(Request* r);
  // Idempotent; any thread.
  void remove(Request* r);
  // The slot of a request on the given side (receives or sends) whose bytes overlap
  // [addr, addr + len), or -1. Any thread; cheap when that side is empty.
  int64_t find_overlap(Kind side, const void* addr, size_t len);

 private:
  struct Side {
    RangeIndex by_start;
    size_t max_len = 0;  // longest range in by_start: bounds the search to the left
    std::atomic<size_t> count{0};
  };
  Side& side(Kind k) { return sides_[k == Kind::Recv ? 1 : 0]; }
  // Held for one map operation at a time; nothing else is done under it.
  std::mutex mutex_;
  Side sides_[2];
};

}  // namespace zc::protocol
