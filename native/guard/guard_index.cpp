#include "guard/guard_index.h"

#include <sys/mman.h>

#include <atomic>
#include <mutex>
#include <new>

namespace zc::guard {
namespace {

constexpr uintptr_t kPage = 4096;
// Heads: a two-level radix table over 47-bit user addresses, leaves of 2^18 pages (1 MiB
// of heads each), materialized when touched.
constexpr unsigned kLeafBits = 18;
constexpr size_t kLeafPages = size_t{1} << kLeafBits;
constexpr size_t kRootEntries = size_t{1} << (47 - 12 - kLeafBits);
// A guard that covers a whole 2 MiB-aligned span of 512 pages is listed once for the
// span, not on each of its pages: a 64 MiB buffer costs 32 entries, not 16384 (on 2 MiB
// huge pages its protection change takes ~10 us; 16384 entries would take longer than that).
// A lookup walks the page's chain and its span's.
constexpr unsigned kSpanBits = 9;
constexpr uintptr_t kSpanBytes = kPage << kSpanBits;
constexpr size_t kSpans = size_t{1} << (47 - 12 - kSpanBits);
// A lookup walks at most this many pages (a decoded access spans one or two; the
// undecodable window 128 bytes; a gather/scatter one page). More: scan the table.
constexpr size_t kMaxLookupPages = 16;

struct Node {
  static constexpr int kEntries = 7;
  std::atomic<uint32_t> next{0};              // node number, 0: end of chain
  std::atomic<uint32_t> entry[kEntries] = {};  // slot + 1, 0: empty
};
static_assert(sizeof(Node) == 32, "a node is 32 bytes");

// Node numbers start at 1; node 0 is never used. Address space for 2^25 nodes (1 GiB,
// MAP_NORESERVE: only nodes ever used are backed).
constexpr size_t kMaxNodes = size_t{1} << 25;

void* reserve(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

// Created when the engine's code loads, so the handler never runs an initializer.
std::atomic<uint32_t*>* const g_root = static_cast<std::atomic<uint32_t*>*>(reserve(kRootEntries * sizeof(std::atomic<uint32_t*>)));
std::atomic<uint32_t>* const g_span_heads = static_cast<std::atomic<uint32_t>*>(reserve(kSpans * sizeof(std::atomic<uint32_t>)));
Node* const g_nodes = static_cast<Node*>(reserve(kMaxNodes * sizeof(Node)));
size_t g_node_count = 1;                 // next unused node (writers, under g_mutex)
std::atomic<bool> g_usable{g_root != nullptr && g_nodes != nullptr && g_span_heads != nullptr};
std::mutex g_mutex;

// The head of a page's chain, or nullptr when the page's leaf was never created.
std::atomic<uint32_t>* head_lookup(uintptr_t page) {
  const uintptr_t pn = page / kPage;
  const size_t r = pn >> kLeafBits;
  if (r >= kRootEntries) return nullptr;
  uint32_t* leaf = g_root[r].load(std::memory_order_acquire);
  return leaf ? reinterpret_cast<std::atomic<uint32_t>*>(leaf) + (pn & (kLeafPages - 1)) : nullptr;
}

// The same, creating the leaf (writers only, under g_mutex).
std::atomic<uint32_t>* head_get(uintptr_t page) {
  const uintptr_t pn = page / kPage;
  const size_t r = pn >> kLeafBits;
  if (r >= kRootEntries) return nullptr;
  uint32_t* leaf = g_root[r].load(std::memory_order_acquire);
  if (!leaf) {
    leaf = static_cast<uint32_t*>(reserve(kLeafPages * sizeof(uint32_t)));
    if (!leaf) return nullptr;
    g_root[r].store(leaf, std::memory_order_release);
  }
  return reinterpret_cast<std::atomic<uint32_t>*>(leaf) + (pn & (kLeafPages - 1));
}

std::atomic<uint32_t>* span_head(uintptr_t addr) {
  const uintptr_t sn = addr / kSpanBytes;
  return sn < kSpans ? &g_span_heads[sn] : nullptr;
}

// Splits [start, end) into the chains it is listed on: whole aligned spans, and single
// pages around them. Add and remove split the same range the same way.
template <class Fn>
bool for_each_chain(uintptr_t start, uintptr_t end, bool create, Fn fn) {
  uintptr_t page = start & ~(kPage - 1);
  while (page < end) {
    std::atomic<uint32_t>* head;
    uintptr_t step;
    if ((page & (kSpanBytes - 1)) == 0 && end - page >= kSpanBytes) {
      head = span_head(page);
      step = kSpanBytes;
    } else {
      head = create ? head_get(page) : head_lookup(page);
      step = kPage;
    }
    if (head) {
      if (!fn(head)) return false;
    } else if (create) {
      return false;
    }
    page += step;
  }
  return true;
}

bool visit_chain(std::atomic<uint32_t>* head, bool (*visit)(size_t slot, void* ctx), void* ctx) {
  for (uint32_t n = head->load(std::memory_order_acquire); n != 0; n = g_nodes[n].next.load(std::memory_order_acquire)) {
    for (auto& e : g_nodes[n].entry) {
      const uint32_t v = e.load(std::memory_order_acquire);
      if (v != 0 && visit(v - 1, ctx)) return true;
    }
  }
  return false;
}

// Puts `value` into a free entry of the page's chain, growing it by a node when full.
bool chain_add(std::atomic<uint32_t>* head, uint32_t value) {
  std::atomic<uint32_t>* link = head;
  for (uint32_t n = link->load(std::memory_order_relaxed); n != 0; n = link->load(std::memory_order_relaxed)) {
    Node& node = g_nodes[n];
    for (auto& e : node.entry) {
      if (e.load(std::memory_order_relaxed) == 0) {
        e.store(value, std::memory_order_release);
        return true;
      }
    }
    link = &node.next;
  }
  if (g_node_count >= kMaxNodes) return false;
  const uint32_t n = static_cast<uint32_t>(g_node_count++);
  Node& node = g_nodes[n];  // fresh from mmap: all zero
  node.entry[0].store(value, std::memory_order_relaxed);
  link->store(n, std::memory_order_release);  // a reader sees the node complete or not at all
  return true;
}

void chain_remove(std::atomic<uint32_t>* head, uint32_t value) {
  for (uint32_t n = head->load(std::memory_order_relaxed); n != 0; n = g_nodes[n].next.load(std::memory_order_relaxed)) {
    for (auto& e : g_nodes[n].entry) {
      if (e.load(std::memory_order_relaxed) == value) {
        e.store(0, std::memory_order_release);
        return;
      }
    }
  }
}

}  // namespace

void index_add(size_t index, uintptr_t start, uintptr_t end) {
  if (end <= start) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_usable.load(std::memory_order_relaxed)) return;
  const uint32_t value = static_cast<uint32_t>(index + 1);
  if (!for_each_chain(start, end, true, [value](std::atomic<uint32_t>* head) { return chain_add(head, value); })) {
    // Out of reserved space: from now on lookups scan the table (and stay right).
    g_usable.store(false, std::memory_order_seq_cst);
  }
}

void index_remove(size_t index, uintptr_t start, uintptr_t end) {
  if (end <= start) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  const uint32_t value = static_cast<uint32_t>(index + 1);
  for_each_chain(start, end, false, [value](std::atomic<uint32_t>* head) { chain_remove(head, value); return true; });
}

bool index_visit(uintptr_t lo, uintptr_t hi, bool (*visit)(size_t slot, void* ctx), void* ctx, bool* usable) {
  *usable = false;
  if (hi <= lo || !g_usable.load(std::memory_order_acquire)) return false;
  const uintptr_t first = lo & ~(kPage - 1);
  const uintptr_t last = (hi - 1) & ~(kPage - 1);
  if ((last - first) / kPage >= kMaxLookupPages) return false;
  *usable = true;
  std::atomic<uint32_t>* span_seen = nullptr;
  for (uintptr_t page = first;; page += kPage) {
    std::atomic<uint32_t>* head = head_lookup(page);
    if (head && visit_chain(head, visit, ctx)) return true;
    std::atomic<uint32_t>* span = span_head(page);
    if (span && span != span_seen) {
      span_seen = span;
      if (visit_chain(span, visit, ctx)) return true;
    }
    if (page == last) break;
  }
  return false;
}

void index_reset_after_fork() {
  new (&g_mutex) std::mutex();
  for (size_t n = 1; n < g_node_count; n++) {
    for (auto& e : g_nodes[n].entry) e.store(0, std::memory_order_relaxed);
  }
}

}  // namespace zc::guard
