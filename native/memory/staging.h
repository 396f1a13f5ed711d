// Staging memory: process-private mappings zcmpi itself copies through (bounce buffers for
// plain JavaScript memory, collective scratch), never handed to JavaScript.
//
// zcmpi maps and unmaps these itself, so unlike program memory it always knows when one
// goes away: a transport that registers staging memory with a NIC may cache the
// registration for the mapping's whole life and drop it from the unmap listener, which runs
// before the pages are unmapped. No allocator hook is needed and no registration can go
// stale (a later mapping at the same address is a new mapping, registered anew).
#pragma once

#include <cstddef>
#include <cstdint>

namespace zc::memory {

struct StagingRegion {
  void* base = nullptr;
  size_t size = 0;
};

// Maps `bytes` (a multiple of the page size, > 0) of private zeroed memory; null on
// failure. Mappings of 2 MiB or more are advised MADV_HUGEPAGE. Thread-safe.
void* map_staging(size_t bytes);
// Unmaps a whole mapping made by map_staging (exactly its base and size). The unmap
// listeners run first. Thread-safe.
void unmap_staging(void* base, size_t bytes);

// The staging mapping that contains [p, p+len); false if none. Thread-safe, not for signal
// context.
bool find_staging(const void* p, size_t len, StagingRegion* out);

// Called by unmap_staging before the pages go, outside the registry's own lock (with the
// listeners' lock held, so removal waits for a call in progress).
using StagingUnmapListener = void (*)(void* ctx, const StagingRegion& region);
void add_staging_unmap_listener(StagingUnmapListener fn, void* ctx);
void remove_staging_unmap_listener(StagingUnmapListener fn, void* ctx);

}  // namespace zc::memory
