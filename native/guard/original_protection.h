// Learns the protection pages had before zcmpi touched them, from /proc/self/maps, so a
// release restores exactly that (read-only memory stays read-only).
#pragma once

#include <cstddef>
#include <cstdint>

namespace zc::guard {

// For every page of [first, first + npages pages), writes PROT_* bits to prots[i].
// Returns false when part of the range is not mapped. Not for signal context.
bool read_original_protection(uintptr_t first, size_t npages, uint8_t* prots);

}  // namespace zc::guard
