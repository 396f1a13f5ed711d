// Staging mappings and their registry (see staging.h).
#include "memory/staging.h"

#include "memory/listener_list.h"

#include <sys/mman.h>

#include <map>
#include <mutex>

namespace zc::memory {
namespace {

std::mutex g_mutex;
std::map<uintptr_t, size_t> g_regions;  // base -> size
ListenerList<StagingRegion> g_unmap_listeners;  // called outside g_mutex (listener_list.h)

}  // namespace

void* map_staging(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  // Large staging buffers are copied through twice per message; huge pages halve the TLB
  // misses and the page faults of the first use.
  if (bytes >= (size_t{2} << 20)) madvise(p, bytes, MADV_HUGEPAGE);
  std::lock_guard<std::mutex> lock(g_mutex);
  g_regions[reinterpret_cast<uintptr_t>(p)] = bytes;
  return p;
}

void unmap_staging(void* base, size_t bytes) {
  if (!base) return;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_regions.erase(reinterpret_cast<uintptr_t>(base));
  }
  g_unmap_listeners.notify(StagingRegion{base, bytes});
  munmap(base, bytes);
}

bool find_staging(const void* p, size_t len, StagingRegion* out) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_regions.upper_bound(a);
  if (it == g_regions.begin()) return false;
  --it;
  if (a < it->first || a + len > it->first + it->second) return false;
  *out = StagingRegion{reinterpret_cast<void*>(it->first), it->second};
  return true;
}

void add_staging_unmap_listener(StagingUnmapListener fn, void* ctx) { g_unmap_listeners.add(fn, ctx); }

void remove_staging_unmap_listener(StagingUnmapListener fn, void* ctx) { g_unmap_listeners.remove(fn, ctx); }

}  // namespace zc::memory
