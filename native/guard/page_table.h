// Per-page guard state: how many guards cover a page, which protection it had before the
// first guard and which one is applied now, and what the counts ask for (desired_state).
// Lookups are lock-free (two atomic loads) so the fault handler can use them; leaves are
// allocated outside signal context and never freed, so a pointer read by the handler stays
// valid. Changing the kernel's protection to match is the convergence protocol
// (convergence.h).
#pragma once

#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "guard/pkru.h"

namespace zc::guard {

constexpr uintptr_t kPageSize = 4096;
constexpr uintptr_t kPageMask = ~(kPageSize - 1);

struct PageState {
  std::atomic<int32_t> in{0};        // inbound guards touching this page
  std::atomic<int32_t> out{0};       // outbound guards touching this page
  std::atomic<uint32_t> gen{0};      // bumped on every change that alters the desired protection
  std::atomic<uint8_t> applied{0};   // state (PROT_* bits | key << kKeyShift) we last applied
  std::atomic<uint8_t> original{0};  // PROT_* bits the page had before our first guard (key 0)
  std::atomic<uint8_t> known{0};     // 1 once `original` is valid
  std::atomic<uint8_t> open{0};      // threads single-stepping an access through this page
  std::atomic<uint32_t> handler_busy{0};  // protection changes of this page in progress (converge*)
};
static_assert(sizeof(PageState) == 20, "PageState packs into 20 bytes");

// A page state as zcmpi applies it: PROT_* bits, and with protection keys the key.
constexpr int kKeyShift = 3;
constexpr uint8_t kProtMask = 7;
inline uint8_t page_state(int prot, int key) { return static_cast<uint8_t>((prot & kProtMask) | (key << kKeyShift)); }
inline int state_prot(uint8_t state) { return state & kProtMask; }
inline int state_key(uint8_t state) { return state >> kKeyShift; }

// Protection keys for guarded pages (pkru.cpp): with them a guard keeps the page's own
// protection and tags it with a key every thread's PKRU denies; -1 when the engine uses
// plain mprotect. Set once at init, before the first guard.
// Inline: the page walks of acquire, release and convergence ask for every page.
namespace detail {
extern std::atomic<int> g_key_in;   // pkru.cpp
extern std::atomic<int> g_key_out;
}  // namespace detail
inline int guard_key_in() { return detail::g_key_in.load(std::memory_order_relaxed); }    // inbound guards: access disabled in every thread
inline int guard_key_out() { return detail::g_key_out.load(std::memory_order_relaxed); }  // outbound guards: write disabled in every thread
inline bool keys_active() { return guard_key_in() >= 0; }
// Both guard keys' bits in a PKRU value (only meaningful when keys_active()).
inline uint32_t guard_key_bits() { return pkru_bits(guard_key_in()) | pkru_bits(guard_key_out()); }

// A two-level radix table over 47-bit user addresses: 2^17 leaves of 2^18 pages (1 GiB).
namespace detail {
constexpr unsigned kLeafBits = 18;
constexpr size_t kLeafPages = size_t{1} << kLeafBits;
constexpr size_t kRootEntries = size_t{1} << (47 - 12 - kLeafBits);
// The root, published once it exists (page_table.cpp; null before: then no page is tracked).
extern std::atomic<std::atomic<PageState*>*> g_root;
}  // namespace detail

// Lock-free lookup; nullptr when the page was never tracked. Async-signal-safe. Inline: the
// page walks call it for every page (out of line, it was a tenth of a guard's cost).
inline PageState* page_lookup(uintptr_t page_addr) {
  const uintptr_t pn = page_addr >> 12;
  const size_t r = pn >> detail::kLeafBits;
  std::atomic<PageState*>* root = detail::g_root.load(std::memory_order_acquire);
  if (r >= detail::kRootEntries || root == nullptr) return nullptr;
  PageState* leaf = root[r].load(std::memory_order_acquire);
  return leaf ? &leaf[pn & (detail::kLeafPages - 1)] : nullptr;
}
// Lookup that allocates the leaf on first use. Not for signal context.
PageState* page_get(uintptr_t page_addr);

// The state (page_state encoding) a page should have given its counts.
inline uint8_t desired_state(const PageState& ps) {
  const int orig = ps.original.load();
  if (keys_active()) {
    // Keys: the page keeps its own protection; the key decides who may touch it. A
    // collateral access is let through by its thread's PKRU, never by the page.
    if (ps.in.load() > 0) return page_state(orig, guard_key_in());
    if (ps.out.load() > 0) return page_state(orig, guard_key_out());
    return page_state(orig, 0);
  }
  if (ps.open.load() > 0) return page_state(orig, 0);
  if (ps.in.load() > 0) return page_state(PROT_NONE, 0);
  if (ps.out.load() > 0) return page_state(orig & ~PROT_WRITE, 0);
  return page_state(orig, 0);
}
// True when that state lets an access needing `need` (PROT_READ or PROT_WRITE) through.
bool state_allows(uint8_t state, int need);

// True when the page is protected by us right now (or about to be): a fault there is ours.
bool page_is_guarded(const PageState& ps);

// Calls fn for every page ever tracked (known), in no particular order: the fork child's
// and finalize's reset (convergence.cpp). Not for signal context.
void for_each_known_page(void (*fn)(uintptr_t page, PageState& ps, void* ctx), void* ctx);

}  // namespace zc::guard
