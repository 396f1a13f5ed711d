// Collateral iterations of `rep movs` and `rep stos`, carried out by the fault handler.
//
// A collateral access is normally let through for one instruction and single-stepped. The
// trap flag stops a rep string instruction after every iteration, though, and each next
// iteration on the page faults again: glibc's memset and memcpy use `rep stosb` /
// `rep movsb` from a few KiB up on CPUs with ERMS, so zeroing a new 8 KiB ArrayBuffer that
// shares a page with an in-flight receive took one fault, one trap and (without keys) two
// mprotect calls per byte: 60 ms per buffer, a rank that seemed hung (the signal-watchers
// fixture ran for minutes). Instead the handler performs the iterations itself, through
// /proc/self/mem so that no page is opened and nothing it touches can fault, chunk by
// chunk up to the first element that conflicts with a guard or that leaves the guarded
// pages, and advances RDI, RSI and RCX. The CPU then resumes the instruction with what is
// left: nothing (it moves on), a conflicting element (it faults and waits as usual), or
// memory zcmpi does not protect (it runs at full speed).
#pragma once

#include <ucontext.h>

#include <cstddef>

#include "guard/access_decoder.h"

namespace zc::guard {

// Opens the descriptor the emulation writes through; again in a fork child, whose
// inherited one still names the parent's memory. Not for signal context.
void open_emulation_memory();
void reopen_emulation_memory_after_fork();

// For a decoded rep movs/stos (acc.rep_string != 0) whose current element is collateral.
// Returns the bytes it stored; 0 when it did nothing (direction flag set, the descriptor
// missing, the first element conflicting or outside pages zcmpi tracks): the caller steps
// the instruction instead. Async-signal-safe.
size_t emulate_rep_string(ucontext_t* uc, const DecodedAccesses& acc);

// Bytes stored by the emulation since start (stats).
unsigned long long rep_string_bytes_emulated();

}  // namespace zc::guard
