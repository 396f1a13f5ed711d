#include "guard/page_table.h"

#include <sys/mman.h>

#include <cerrno>

#include <vector>

namespace zc::guard {
namespace {

// A two-level radix table over 47-bit user addresses: 2^17 leaves of 2^18 pages (1 GiB).
constexpr unsigned kLeafBits = 18;
constexpr size_t kLeafPages = size_t{1} << kLeafBits;
constexpr size_t kRootEntries = size_t{1} << (47 - 12 - kLeafBits);

std::atomic<PageState*>* root() {
  // mmap'ed once, never freed: pages of it are only materialized when touched.
  static std::atomic<PageState*>* table = [] {
    void* p = mmap(nullptr, kRootEntries * sizeof(std::atomic<PageState*>), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<std::atomic<PageState*>*>(p);
  }();
  return table;
}
// Eagerly create the root so the signal handler never runs the static initializer.
[[maybe_unused]] auto* root_init = root();

// Leaves, in creation order, for reset_all_pages (fork child).
constexpr size_t kMaxLeaves = 4096;
std::atomic<PageState*> g_leaves[kMaxLeaves];
std::atomic<size_t> g_leaf_count{0};
std::atomic<uint64_t> g_mprotects{0};

}  // namespace

PageState* page_lookup(uintptr_t page_addr) {
  uintptr_t pn = page_addr >> 12;
  size_t r = pn >> kLeafBits;
  if (r >= kRootEntries || root() == nullptr) return nullptr;
  PageState* leaf = root()[r].load(std::memory_order_acquire);
  return leaf ? &leaf[pn & (kLeafPages - 1)] : nullptr;
}

PageState* page_get(uintptr_t page_addr) {
  uintptr_t pn = page_addr >> 12;
  size_t r = pn >> kLeafBits;
  if (r >= kRootEntries || root() == nullptr) return nullptr;
  PageState* leaf = root()[r].load(std::memory_order_acquire);
  if (!leaf) {
    void* p = mmap(nullptr, kLeafPages * sizeof(PageState), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    PageState* fresh = static_cast<PageState*>(p);
    PageState* expected = nullptr;
    if (root()[r].compare_exchange_strong(expected, fresh)) {
      leaf = fresh;
      size_t i = g_leaf_count.fetch_add(1);
      if (i < kMaxLeaves) g_leaves[i].store(fresh);
    } else {
      munmap(p, kLeafPages * sizeof(PageState));
      leaf = expected;
    }
  }
  return &leaf[pn & (kLeafPages - 1)];
}

uint8_t desired_state(const PageState& ps) {
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

bool state_allows(uint8_t state, int need) {
  if ((state_prot(state) & need) != need) return false;
  const int key = state_key(state);
  if (key == 0) return true;
  if (key == guard_key_in()) return false;
  if (key == guard_key_out()) return need == PROT_READ;
  return true;
}

bool page_is_guarded(const PageState& ps) {
  if (!ps.known.load()) return false;
  return ps.in.load() > 0 || ps.out.load() > 0 || ps.open.load() > 0 ||
         ps.applied.load() != ps.original.load();
}

std::atomic<int> g_inject_count{0};
std::atomic<int> g_inject_errno{0};

void inject_protect_failures(int count, int error) {
  g_inject_errno.store(error);
  g_inject_count.store(count);
}

int protect(uintptr_t addr, size_t len, uint8_t state) {
  g_mprotects.fetch_add(1, std::memory_order_relaxed);
  int left = g_inject_count.load(std::memory_order_relaxed);
  while (left > 0) {
    if (g_inject_count.compare_exchange_weak(left, left - 1)) return g_inject_errno.load();
  }
  const int saved = errno;
  int r = keys_active() ? pkey_mprotect(reinterpret_cast<void*>(addr), len, state_prot(state), state_key(state))
                        : mprotect(reinterpret_cast<void*>(addr), len, state_prot(state));
  const int error = r == 0 ? 0 : errno;
  errno = saved;
  return error;
}

uint64_t mprotect_calls() { return g_mprotects.load(std::memory_order_relaxed); }

bool converge_page(uintptr_t page, bool force) {
  PageState* ps = page_lookup(page);
  ps->handler_busy.fetch_add(1);  // first: learn_pages must not trust what it sees from now on
  bool ok = true;
  for (int failures = 0;;) {
    uint32_t gen = ps->gen.load();
    uint8_t want = desired_state(*ps);
    if (force || ps->applied.load() != want) {
      if (protect(page, kPageSize, want) != 0) {
        // Not applied: `applied` keeps what the kernel still has. A few quick retries,
        // then the caller decides (the access faults again and comes back here).
        if (++failures < 8) continue;
        ok = false;
        break;
      }
      ps->applied.store(want);
    }
    // Another thread changed the counts meanwhile: our mprotect may be stale.
    if (ps->gen.load() == gen) break;
    force = true;
  }
  ps->handler_busy.fetch_sub(1);
  return ok;
}

bool converge(uintptr_t first, size_t npages, bool force, int* error) {
  // Not for signal context (uses the heap): the handler uses converge_page. One pass over
  // the whole range so a contiguous buffer costs one mprotect however large it is.
  // Scratch lives in pages of its own (mmap), never on the malloc heap: heap pages can sit
  // under a plain buffer's guard, and touching them here would single-step, bump their
  // generation and make this loop believe forever that another thread changed the counts.
  struct Scratch { uint32_t gen; uint8_t want; };
  thread_local Scratch* scratch = nullptr;
  thread_local size_t scratch_pages = 0;
  const size_t bytes_needed = npages * sizeof(Scratch);
  if (scratch_pages * kPageSize < bytes_needed) {
    if (scratch) munmap(scratch, scratch_pages * kPageSize);
    scratch_pages = (bytes_needed + kPageSize - 1) / kPageSize;
    void* m = mmap(nullptr, scratch_pages * kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    scratch = m == MAP_FAILED ? nullptr : static_cast<Scratch*>(m);
    if (!scratch) { scratch_pages = 0; *error = ENOMEM; return false; }
  }
  // The pages count as busy while we change them: a fault on one of them meanwhile may see
  // a protection that is about to change and must not give up on it (see on_segv).
  for (size_t i = 0; i < npages; i++) page_lookup(first + i * kPageSize)->handler_busy.fetch_add(1);
  struct Unbusy {
    uintptr_t first;
    size_t npages;
    ~Unbusy() { for (size_t i = 0; i < npages; i++) page_lookup(first + i * kPageSize)->handler_busy.fetch_sub(1); }
  } unbusy{first, npages};
  bool again = true;
  while (again) {
    again = false;
    for (size_t i = 0; i < npages; i++) {
      PageState* ps = page_lookup(first + i * kPageSize);
      scratch[i].gen = ps->gen.load();
      scratch[i].want = desired_state(*ps);
    }
    // Coalesce neighbouring pages that need the same change into one mprotect.
    size_t i = 0;
    while (i < npages) {
      if (!force && page_lookup(first + i * kPageSize)->applied.load() == scratch[i].want) { i++; continue; }
      size_t j = i + 1;
      while (j < npages && scratch[j].want == scratch[i].want &&
             (force || page_lookup(first + j * kPageSize)->applied.load() != scratch[j].want)) {
        j++;
      }
      const int e = protect(first + i * kPageSize, (j - i) * kPageSize, scratch[i].want);
      if (e != 0) {
        // Nothing of this call is recorded as applied; the caller undoes or retries.
        *error = e;
        return false;
      }
      for (size_t k = i; k < j; k++) page_lookup(first + k * kPageSize)->applied.store(scratch[i].want);
      i = j;
    }
    // Another thread changed counts while we worked: our mprotect may be stale.
    for (size_t k = 0; k < npages; k++) {
      if (page_lookup(first + k * kPageSize)->gen.load() != scratch[k].gen) { again = true; force = true; break; }
    }
  }
  return true;
}

void reset_all_pages() {
  size_t leaves = g_leaf_count.load();
  if (leaves > kMaxLeaves) leaves = kMaxLeaves;
  for (size_t l = 0; l < leaves; l++) {
    PageState* leaf = g_leaves[l].load();
    if (!leaf) continue;
    // Find this leaf's base address by scanning the root (rare path: fork and finalize).
    uintptr_t base = 0;
    for (size_t r = 0; r < kRootEntries; r++) {
      if (root()[r].load() == leaf) { base = static_cast<uintptr_t>(r) << (kLeafBits + 12); break; }
    }
    for (size_t i = 0; i < kLeafPages; i++) {
      PageState& ps = leaf[i];
      if (!ps.known.load()) continue;
      ps.in.store(0);
      ps.out.store(0);
      ps.open.store(0);
      ps.gen.fetch_add(1);
      if (ps.applied.load() != ps.original.load()) {
        if (protect(base + i * kPageSize, kPageSize, ps.original.load()) == 0) ps.applied.store(ps.original.load());
      }
    }
  }
}

}  // namespace zc::guard
