// libc's scanning string functions, whose vector loads read past the end of the string.
//
// strlen, strchr, memchr, strcmp and their kin find a terminator (or a mismatch) a whole
// vector at a time: after the string's last byte they read up to a vector's width more
// (never across a page), and those bytes cannot change the result. When the string sits
// right before a plain buffer in flight, that over-read runs into the guarded bytes, and
// the fault handler used to take it for an early read and wait for the transfer, which
// may never come: Node enumerates the environment (getenv, strlen of every variable's
// string) for each child_process.spawn, so spawning a child while a plain receive from
// this same rank was pending hung for good, and with a peer it waited for the peer's
// message, deadlocking a peer that waited for this rank first.
//
// So the handler lets a read through as collateral when it comes from one of these
// functions and its faulting byte is outside every guard (the over-read starts in the
// string). A string that itself lies inside an in-flight buffer still waits: its first
// load faults on a guarded byte. The functions' exact code ranges come from the unwind
// tables (the resolved IFUNC variant, e.g. __strlen_evex, is a local symbol), learned once
// before the first guard.
#pragma once

#include <cstdint>

namespace zc::guard {

// Looks up the variants this process resolved; once, before the first guard (guard.cpp).
// Not for signal context.
void learn_scanning_functions();

// True when pc lies in one of them. Async-signal-safe, lock-free.
bool in_scanning_function(uintptr_t pc);

// How many function ranges were found (diagnostics and tests).
int scanning_functions_known();

}  // namespace zc::guard
