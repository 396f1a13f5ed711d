#include "protocol/in_flight_ranges.h"

namespace zc::protocol {

void InFlightRanges::add(Request* r) {
  if (r->user_len == 0 || r->in_ranges) return;
  const uintptr_t a = reinterpret_cast<uintptr_t>(r->guard_addr);
  std::lock_guard<std::mutex> g(mutex_);
  Side& s = side(r->kind);
  r->range_node = s.by_start.emplace(a, r);
  r->in_ranges = true;
  if (r->user_len > s.max_len) s.max_len = r->user_len;
  s.count.fetch_add(1, std::memory_order_release);
}

void InFlightRanges::remove(Request* r) {
  std::lock_guard<std::mutex> g(mutex_);
  if (!r->in_ranges) return;
  Side& s = side(r->kind);
  s.by_start.erase(r->range_node);
  r->in_ranges = false;
  if (s.by_start.empty()) s.max_len = 0;
  s.count.fetch_sub(1, std::memory_order_release);
}

int64_t InFlightRanges::find_overlap(Kind k, const void* addr, size_t len) {
  if (len == 0) return -1;
  Side& s = side(k);
  if (s.count.load(std::memory_order_acquire) == 0) return -1;
  const uintptr_t a = reinterpret_cast<uintptr_t>(addr), end = a + len;
  std::lock_guard<std::mutex> g(mutex_);
  // A range overlapping [a, end) starts before end and no earlier than a - max_len.
  const uintptr_t from = a > s.max_len ? a - s.max_len : 0;
  for (auto it = s.by_start.lower_bound(from); it != s.by_start.end() && it->first < end; ++it) {
    if (it->first + it->second->user_len > a) return int64_t(it->second->slot);
  }
  return -1;
}

}  // namespace zc::protocol
