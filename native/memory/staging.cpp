// Staging mappings and their registry (see staging.h).
#include "memory/staging.h"

#include <sys/mman.h>

#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace zc::memory {
namespace {

std::mutex g_mutex;
std::map<uintptr_t, size_t> g_regions;  // base -> size
std::mutex g_listener_mutex;
std::vector<std::pair<StagingUnmapListener, void*>> g_listeners;

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
  {
    const StagingRegion r{base, bytes};
    std::lock_guard<std::mutex> lock(g_listener_mutex);
    for (auto& l : g_listeners) l.first(l.second, r);
  }
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

void add_staging_unmap_listener(StagingUnmapListener fn, void* ctx) {
  std::lock_guard<std::mutex> lock(g_listener_mutex);
  g_listeners.emplace_back(fn, ctx);
}

void remove_staging_unmap_listener(StagingUnmapListener fn, void* ctx) {
  std::lock_guard<std::mutex> lock(g_listener_mutex);
  for (size_t i = 0; i < g_listeners.size(); i++) {
    if (g_listeners[i].first == fn && g_listeners[i].second == ctx) {
      g_listeners.erase(g_listeners.begin() + long(i));
      return;
    }
  }
}

}  // namespace zc::memory
