// Active guards by page: for every page, the slots of the guards that cover it, so the
// fault handler finds the guards an access may conflict with by looking at the pages it
// touches, in time independent of how many guards are active elsewhere.
//
// Readers (the fault handler) take no lock and never allocate: a page's chain is a list of
// fixed nodes of slot numbers, read with atomic loads. An entry is only a hint: the reader
// checks the slot itself (read_slot: active, range), so a stale or reused entry costs a
// look and nothing else. What must never happen is a missing entry for an active guard:
// acquire adds a guard's entries before its slot turns active (and before its pages are
// protected), and they are removed only after the slot is released (slot_free). Nodes
// never leave the page they were linked to, so a reader walking a chain always walks that
// page's chain. Writers take the index's own mutex.
//
// A guard is listed on each page it covers, except that a whole 2 MiB-aligned span of 512
// pages is listed once for the span (a lookup reads the page's chain and its span's), so a
// large or huge-page buffer costs a few entries, not one per page.
//
// Memory: a 4-byte head per page and per span touched and a 32-byte node per 7 guards on
// a page (span) at the most guards it ever had at once; all of it in
// pages of its own (mmap, never the malloc heap, which can sit under a plain buffer's
// guard). If the index cannot grow (address space reserved for it exhausted) it says so,
// and lookups fall back to scanning the guard table for good: slower, never wrong.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zc::guard {

// Adds slot `index` to every page of [start, end). Not for signal context.
void index_add(size_t index, uintptr_t start, uintptr_t end);
// Removes slot `index` from every page of [start, end) (after the slot is released).
void index_remove(size_t index, uintptr_t start, uintptr_t end);

// Calls visit(slot, ctx) for every slot listed on a page of [lo, hi) (duplicates possible
// when a guard covers several of them) until it returns true; returns true then. Returns
// false with *usable false when the index cannot answer (it could not grow, or the range
// spans more pages than a lookup walks): the caller scans the table instead.
// Async-signal-safe, lock-free, no allocation.
bool index_visit(uintptr_t lo, uintptr_t hi, bool (*visit)(size_t slot, void* ctx), void* ctx, bool* usable);

// The fork child: every entry cleared (every slot is free there), the writers' lock fresh.
void index_reset_after_fork();

}  // namespace zc::guard
