// Registered memory for comm.alloc: page-aligned blocks mapped twice.
//
// The program view is what JavaScript sees (and what the guard engine protects). The
// device view maps the same physical pages at another address and is never protected,
// so transports that copy with the CPU (UCX shared memory, CMA, TCP) write and read
// through it while the program's view is no-access or read-only. Blocks of 2 MiB or more
// are 2 MiB-aligned and advised MADV_HUGEPAGE (whether the kernel backs shared memory
// with huge pages is a system setting: see docs/design.md).
#pragma once

#include <cstddef>
#include <cstdint>

namespace zc::memory {

struct Block {
  void* program = nullptr;  // the view handed to JavaScript
  void* device = nullptr;   // the same pages, for transports
  size_t size = 0;          // mapped size (rounded up to a page or 2 MiB)
  bool huge_aligned = false;
};

// Allocates a zeroed block of at least `bytes` (bytes > 0). Thread-safe.
bool alloc(size_t bytes, Block* out, char* err, size_t errlen);

// Unmaps both views. The caller guarantees no transfer still uses the block.
void free(void* program);

// If [p, p+len) lies inside one block's program view, the device-view address of p;
// otherwise nullptr (plain JavaScript memory has no device view). Thread-safe.
void* device_address(const void* p, size_t len);

// Copies len bytes to dst even when dst's pages are protected (a guarded plain receive
// buffer): the kernel writes through /proc/self/mem regardless of page protection.
// Returns false with errno set on failure.
bool write_through(void* dst, const void* src, size_t len);

// The block whose device view contains [p, p+len); false if none. Thread-safe.
bool find_device_block(const void* p, size_t len, Block* out);

// Called by free() before a block's views are unmapped, outside the arena's own lock: a
// transport that registered the block with a NIC deregisters it here, so a later block at
// the same addresses can never be sent through a stale registration.
using FreeListener = void (*)(void* ctx, const Block& block);
void add_free_listener(FreeListener fn, void* ctx);
void remove_free_listener(FreeListener fn, void* ctx);

struct Stats {
  uint64_t blocks;
  uint64_t bytes_mapped;
  uint64_t huge_aligned_blocks;
};
Stats stats();

}  // namespace zc::memory
