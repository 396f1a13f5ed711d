// One guard per buffer in flight, however many requests use it.
//
// The osu_bw pattern posts the same buffer 64 times before waiting: 64 isends of one send
// buffer, 64 irecvs into one receive buffer. The guard engine handles overlapping guards,
// but every acquire and release walks each page of the range (measured: about 15% of the
// bandwidth of 1-4 MiB messages went to that bookkeeping). Requests that guard exactly the
// same bytes in the same direction share one engine guard here, counted: the first acquires
// it, the last one to complete releases it. A program access then waits until every one of
// those transfers is done, which is what it must do anyway.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "guard/guard.h"

namespace zc::protocol {

class SharedGuards {
 public:
  struct Entry;
  // Guards [addr, addr+len) for one more request; *handle is what release() takes (null when
  // no guard was needed: mode off or empty range). False with a message on failure.
  bool acquire(const void* addr, size_t len, zc::guard::Direction dir, const zc::guard::RequestInfo& info,
               const char* js_stack, Entry** handle, std::string* err);
  // One request's transfer is done but the program has not observed it (strict mode): the
  // guard stays; when no sharing request is in flight any more it is marked transfer-done,
  // so accesses are reported without waiting (guard/observation.h). release(h, false) later.
  void transfer_done(Entry* handle);
  // in_flight: the request's transfer was still counted as in flight (not transfer_done'd).
  void release(Entry* handle, bool in_flight = true);

 private:
  struct Key {
    uintptr_t addr;
    size_t len;
    int dir;
    bool operator==(const Key& o) const { return addr == o.addr && len == o.len && dir == o.dir; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uintptr_t>()(k.addr) ^ (k.len * 31) ^ size_t(k.dir); }
  };
  // Held only for map lookups and counts, never while calling into the guard engine's
  // protection changes (those happen outside it), so a completing thread waits at most for
  // a hash-map operation of the posting thread.
  std::mutex mutex_;
  std::unordered_map<Key, Entry*, KeyHash> map_;
};

}  // namespace zc::protocol
