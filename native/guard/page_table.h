// Per-page guard state: how many guards cover a page, which protection it had before the
// first guard and which one is applied now. Lookups are lock-free (two atomic loads) so
// the fault handler can use them; leaves are allocated outside signal context and never
// freed, so a pointer read by the handler stays valid.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace zc::guard {

constexpr uintptr_t kPageSize = 4096;
constexpr uintptr_t kPageMask = ~(kPageSize - 1);

struct PageState {
  std::atomic<int32_t> in{0};        // inbound guards touching this page
  std::atomic<int32_t> out{0};       // outbound guards touching this page
  std::atomic<uint32_t> gen{0};      // bumped on every change that alters the desired protection
  std::atomic<uint8_t> applied{0};   // PROT_* bits we last applied
  std::atomic<uint8_t> original{0};  // PROT_* bits the page had before our first guard
  std::atomic<uint8_t> known{0};     // 1 once `original` is valid
  std::atomic<uint8_t> open{0};      // threads single-stepping an access through this page
  std::atomic<uint32_t> handler_busy{0};  // fault handlers inside converge_page on this page
};
static_assert(sizeof(PageState) == 20, "PageState packs into 20 bytes");

// Lock-free lookup; nullptr when the page was never tracked. Async-signal-safe.
PageState* page_lookup(uintptr_t page_addr);
// Lookup that allocates the leaf on first use. Not for signal context.
PageState* page_get(uintptr_t page_addr);

// The protection a page should have given its counts.
int desired_prot(const PageState& ps);

// True when the page is protected by us right now (or about to be): a fault there is ours.
bool page_is_guarded(const PageState& ps);

// Brings the applied protection of [first, first + npages pages) in line with the counts.
// Safe against concurrent callers: every caller re-checks the page generations after its
// mprotect calls and repeats when another thread changed the counts meanwhile.
// force: apply even where `applied` already matches (used from the fault handler, where
// the kernel's view is what matters). Uses the heap: NOT for signal context.
void converge(uintptr_t first, size_t npages, bool force);
// The same for one page, async-signal-safe (the fault handler's version). While it runs the
// page counts as busy: its mprotect calls may be transiently stale, so the page's current
// protection must not be read as its original (see learn_pages in guard.cpp).
void converge_page(uintptr_t page, bool force);

// Lifts every protection we applied and clears every count (fork child, finalize).
void reset_all_pages();

// mprotect wrapper that counts calls (stats). Async-signal-safe.
int protect(uintptr_t addr, size_t len, int prot);
uint64_t mprotect_calls();

}  // namespace zc::guard
