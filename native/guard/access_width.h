// How many bytes the faulting instruction accesses at the faulting address, from its
// x86-64 encoding. The fault address is only the first byte of the access; an access that
// starts next to a guard and runs into it touches in-flight bytes, and one that ends
// before it does not. Decoding the width tells the two apart for the instructions
// compilers emit for loads and stores (V8's typed-array accesses, memcpy's vector moves).
#pragma once

#include <cstdint>

namespace zc::guard {

// Width in bytes of the memory access made by the instruction at `ip`, or 0 when the
// encoding is not one we know (callers then assume the widest access, 64 bytes).
// Async-signal-safe: only reads the instruction bytes.
unsigned access_width(const uint8_t* ip);

}  // namespace zc::guard
