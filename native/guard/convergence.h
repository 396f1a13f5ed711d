// The convergence protocol: brings the protection the kernel applies to guarded pages in
// line with what their counts ask for (page_table.h desired_state), against concurrent
// acquire, release and fault-handler lifts, and checks every protection change.
#pragma once

#include <cstddef>
#include <cstdint>

#include "guard/page_table.h"

namespace zc::guard {

// Brings the applied protection of [first, first + npages pages) in line with the counts.
// Safe against concurrent callers: every caller re-checks the page generations after its
// mprotect calls and repeats when another thread changed the counts meanwhile.
// force: apply even where `applied` already matches (used from the fault handler, where
// the kernel's view is what matters). A protection change that fails is never recorded as
// applied: returns false with its errno in *error, leaving those pages as they were.
// Not for signal context.
bool converge(uintptr_t first, size_t npages, bool force, int* error);
// The same for one page, async-signal-safe (the fault handler's version). While it runs the
// page counts as busy: its mprotect calls may be transiently stale, so the page's current
// protection must not be read as its original (see learn_pages in guard.cpp).
bool converge_page(uintptr_t page, bool force);

// Lifts every protection we applied and clears every count (fork child, finalize).
void reset_all_pages();

// mprotect / pkey_mprotect to a page_state; counts calls (stats). Returns 0 or an errno.
// Async-signal-safe (preserves errno).
int protect(uintptr_t addr, size_t len, uint8_t state);
// Test seam, set only by the test addon (test/addon/protect_failures.cpp), never from the
// environment: when set, every protection change asks it first, and a nonzero result is
// the errno that change fails with, without reaching the kernel. Must be
// async-signal-safe (the handler's changes ask it too).
using ProtectInterceptor = int (*)(uintptr_t addr, size_t len, int prot, int key);
void set_protect_interceptor(ProtectInterceptor fn);
uint64_t mprotect_calls();

}  // namespace zc::guard
