// Which bytes the faulting instruction touches, from its x86-64 encoding and the
// interrupted registers. The fault address names one byte of one access; the decision
// "collateral or conflicting" must cover every byte of every address the instruction
// touches: the rest of a wide access (a Float64 element or a vector move starting next
// to a guard), and the second address of a string instruction (rep movsb reads one buffer
// and writes another; either may be in flight).
#pragma once

#include <ucontext.h>

#include <cstddef>
#include <cstdint>

namespace zc::guard {

struct MemoryAccess {
  uintptr_t lo, hi;  // [lo, hi)
  bool write;
};

struct DecodedAccesses {
  int count = 0;
  MemoryAccess at[2];
  // True when every range comes from a decoded encoding and registers; false when a range
  // is a conservative window around the fault address (unknown opcode, RIP- or
  // FS/GS-relative address that could not be computed). Strict mode reports a neighbour
  // overlap only when it was decoded.
  bool decoded = false;
  // A rep-prefixed (F3) movs or stos with 64-bit addresses: the handler can carry out its
  // collateral iterations itself (rep_string_emulation.h). 0 for anything else.
  uint8_t rep_string = 0;   // kRepMovs or kRepStos
  uint8_t rep_element = 0;  // bytes per iteration: 1, 2, 4 or 8
};
constexpr uint8_t kRepMovs = 1;
constexpr uint8_t kRepStos = 2;

// Widest window assumed around the fault address for an instruction we cannot decode:
// every access of up to this many bytes that includes the faulting byte fits in it.
constexpr uintptr_t kUnknownAccessBytes = 64;

// code: up to 16 bytes copied from RIP (n of them valid). Async-signal-safe (reads only
// `code` and `uc`). Never returns an empty set: an undecodable instruction yields the
// conservative window, a gather/scatter (many addresses) the whole faulting page.
void decode_accesses(const uint8_t* code, size_t n, const ucontext_t* uc, uintptr_t fault_addr, bool fault_write,
                     DecodedAccesses* out);

}  // namespace zc::guard
