#include "guard/guard_table.h"

#include <sys/mman.h>

#include <mutex>
#include <new>
#include <vector>

#include "guard/guard_index.h"

namespace zc::guard {
namespace {

Slot* g_slots = [] {
  void* p = mmap(nullptr, kMaxGuards * sizeof(Slot), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<Slot*>(p);
}();
std::atomic<size_t> g_high_water{0};
std::mutex g_alloc_mutex;
// Free slots as a stack; reused most-recently-freed first so the scan stays short. Grows
// with the largest number of guards ever held at once.
std::vector<size_t> g_free;
size_t g_active = 0;

}  // namespace

Slot* slots() { return g_slots; }
size_t high_water() { return g_high_water.load(std::memory_order_acquire); }

bool read_slot(size_t i, SlotView* out) {
  Slot& s = g_slots[i];
  uint32_t seq = s.seq.load(std::memory_order_acquire);
  if ((seq & 1) == 0) return false;
  out->start = s.start.load(std::memory_order_relaxed);
  out->end = s.end.load(std::memory_order_relaxed);
  out->dir = static_cast<Direction>(s.dir.load(std::memory_order_relaxed));
  std::atomic_thread_fence(std::memory_order_acquire);
  if (s.seq.load(std::memory_order_relaxed) != seq) return false;
  out->seq = seq;
  return true;
}

namespace {

struct ConflictQuery {
  uintptr_t lo, hi;
  bool is_write;
  size_t* index;
  SlotView* view;
};

bool slot_conflicts(size_t i, void* ctx) {
  ConflictQuery& q = *static_cast<ConflictQuery*>(ctx);
  SlotView v;
  if (i >= kMaxGuards || !read_slot(i, &v)) return false;
  if (q.hi <= v.start || q.lo >= v.end) return false;
  if (v.dir != Direction::Inbound && !q.is_write) return false;
  *q.index = i;
  *q.view = v;
  return true;
}

}  // namespace

bool find_conflict(uintptr_t lo, uintptr_t hi, bool is_write, size_t* index, SlotView* view) {
  if (!g_slots) return false;
  ConflictQuery q{lo, hi, is_write, index, view};
  // By page (guard_index.h): only the guards on the pages the access touches.
  bool usable = false;
  if (index_visit(lo, hi, slot_conflicts, &q, &usable)) return true;
  if (usable) return false;
  // The index cannot answer (it could not grow, or a range of many pages): every slot.
  const size_t hw = high_water();
  for (size_t i = 0; i < hw; i++) {
    if (slot_conflicts(i, &q)) return true;
  }
  return false;
}

long slot_alloc() {
  std::lock_guard<std::mutex> lock(g_alloc_mutex);
  if (!g_slots) return -1;
  size_t i;
  if (!g_free.empty()) {
    i = g_free.back();
    g_free.pop_back();
  } else {
    i = g_high_water.load();
    if (i >= kMaxGuards) return -1;
    g_high_water.store(i + 1, std::memory_order_release);
  }
  g_active++;
  return static_cast<long>(i);
}

void slot_free(size_t i) {
  // The slot is released (seq even): its index entries may go now, and must go before
  // the slot can be reused.
  index_remove(i, g_slots[i].start.load(), g_slots[i].end.load());
  std::lock_guard<std::mutex> lock(g_alloc_mutex);
  g_free.push_back(i);
  g_active--;
}

size_t active_count() {
  std::lock_guard<std::mutex> lock(g_alloc_mutex);
  return g_active;
}

void reset_slots_after_fork() {
  new (&g_alloc_mutex) std::mutex();
  index_reset_after_fork();
  g_free.clear();
  g_active = 0;
  g_high_water.store(0);
}

}  // namespace zc::guard
