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
  // The block's memfd, kept open for blocks of kExportMin bytes or more (up to kExportMax
  // of them) so a rank on the same host can map the same pages (transports/single_copy.h);
  // -1 when the block is not exported.
  int fd = -1;
  // Unique per block for the process's life (never reused, unlike fd numbers and inodes):
  // what a peer's cache of mappings is keyed by, so it never reads a freed block's pages.
  uint64_t generation = 0;
};

// Blocks smaller than this never carry a single-copy message, so they do not hold an fd.
constexpr size_t kExportMin = 16384;
// At most this many blocks hold their fd (the rest are not exported): a program that
// allocates many blocks must not run out of file descriptors because of zcmpi.
constexpr uint64_t kExportMax = 4096;

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
  uint64_t exported_blocks;
  uint64_t bytes_mapped;
  uint64_t huge_aligned_blocks;
};
Stats stats();

}  // namespace zc::memory
