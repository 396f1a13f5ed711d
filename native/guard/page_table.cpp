#include "guard/page_table.h"

#include <sys/mman.h>

namespace zc::guard {

namespace detail {
std::atomic<std::atomic<PageState*>*> g_root{nullptr};
}  // namespace detail

namespace {

using detail::kLeafBits;
using detail::kLeafPages;
using detail::kRootEntries;

std::atomic<PageState*>* root() {
  // mmap'ed once, never freed: pages of it are only materialized when touched. Published
  // for the inline page_lookup (page_table.h) once it exists.
  static std::atomic<PageState*>* table = [] {
    void* p = mmap(nullptr, kRootEntries * sizeof(std::atomic<PageState*>), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    auto* t = p == MAP_FAILED ? nullptr : static_cast<std::atomic<PageState*>*>(p);
    detail::g_root.store(t, std::memory_order_release);
    return t;
  }();
  return table;
}
// Eagerly create the root so the signal handler never runs the static initializer.
[[maybe_unused]] auto* root_init = root();

// Leaves, in creation order, for reset_all_pages (fork child).
constexpr size_t kMaxLeaves = 4096;
std::atomic<PageState*> g_leaves[kMaxLeaves];
std::atomic<size_t> g_leaf_count{0};

}  // namespace

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

void for_each_known_page(void (*fn)(uintptr_t page, PageState& ps, void* ctx), void* ctx) {
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
      if (leaf[i].known.load()) fn(base + i * kPageSize, leaf[i], ctx);
    }
  }
}

}  // namespace zc::guard
