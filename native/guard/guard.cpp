// acquire/release: bookkeeping and protection changes outside signal context.
#include "guard/guard.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#include "guard/guard_engine.h"
#include "guard/guard_table.h"
#include "guard/futex.h"
#include "guard/original_protection.h"
#include "guard/page_table.h"
#include "guard/pkru.h"

namespace zc::guard {
namespace {
// Serializes protection bookkeeping between acquire and release: a page's original
// protection is (re)learned only while no guard covers it, and a release finishes lifting
// before anyone can learn again, so zcmpi's own protection is never mistaken for the
// original. Never taken in the fault handler; code holding it never touches program memory
// (see ExactMatchScope), so a faulting thread can never wait on a holder.
std::mutex g_state_mutex;

// No guard covers the page and no fault handler is changing its protection: what the
// kernel reports for it now is the page's own protection.
bool page_idle(const PageState& ps) {
  return ps.in.load() == 0 && ps.out.load() == 0 && ps.open.load() == 0 && ps.handler_busy.load() == 0;
}

// Called with g_state_mutex held. Pages no guard covers are re-learned every time (cheap with
// PROCMAP_QUERY): memory may have been unmapped and mapped again with another protection
// since we last saw it, and a release must restore what the page has now, not what it had.
bool learn_pages(uintptr_t first, size_t npages, char* err, size_t errlen) {
  bool any_idle = false;
  for (size_t i = 0; i < npages; i++) {
    PageState* ps = page_get(first + i * kPageSize);
    if (!ps) {
      snprintf(err, errlen, "cannot track page %#lx (out of address space for the page table)",
               static_cast<unsigned long>(first + i * kPageSize));
      return false;
    }
    if (!ps->known.load() || page_idle(*ps)) any_idle = true;
  }
  if (!any_idle) return true;
  thread_local std::vector<uint8_t> prots;
  prots.resize(npages);
  if (!read_original_protection(first, npages, prots.data())) {
    snprintf(err, errlen, "buffer at %#lx is not entirely mapped memory", static_cast<unsigned long>(first));
    return false;
  }
  for (size_t i = 0; i < npages; i++) {
    PageState* ps = page_lookup(first + i * kPageSize);
    if (ps->known.load() && !page_idle(*ps)) continue;
    ps->original.store(prots[i]);
    ps->applied.store(prots[i]);
    ps->known.store(1);
  }
  return true;
}

}  // namespace

void reset_state_lock_after_fork() { new (&g_state_mutex) std::mutex(); }

EngineState& engine() {
  static EngineState state;
  return state;
}

bool init(Mode m, char* err, size_t errlen) {
  if (m != Mode::Off) {
    pku_probe();  // before the handlers: they read code bytes through PKRU
    if (!install_fault_handlers(err, errlen)) return false;
    install_fork_handler();
    ensure_alt_stack();
  }
  engine().mode.store(static_cast<int>(m));
  return true;
}

Mode mode() { return static_cast<Mode>(engine().mode.load()); }
int rank_for_reports() { return engine().rank.load(); }
void set_rank_for_reports(int rank) { engine().rank.store(rank); }
void set_long_wait_ms(uint32_t ms) { engine().long_wait_ms.store(ms ? ms : 1); }

GuardId acquire(void* addr, size_t len, Direction dir, const RequestInfo& info, const char* js_stack,
                bool* failed, char* err, size_t errlen) {
  *failed = false;
  if (mode() == Mode::Off || len == 0) return kNoGuard;
  const uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  const uintptr_t first = a & kPageMask;
  const size_t npages = (((a + len - 1) & kPageMask) - first) / kPageSize + 1;
  ExactMatchScope exact_only;
  std::lock_guard<std::mutex> lock(g_state_mutex);
  if (!learn_pages(first, npages, err, errlen)) { *failed = true; return kNoGuard; }
  const int need = dir == Direction::Inbound ? (PROT_READ | PROT_WRITE) : PROT_READ;
  for (size_t i = 0; i < npages; i++) {
    if ((page_lookup(first + i * kPageSize)->original.load() & need) != need) {
      snprintf(err, errlen, "buffer at %#lx is %s memory", static_cast<unsigned long>(a),
               dir == Direction::Inbound ? "read-only (a receive buffer must be writable)" : "unreadable");
      *failed = true;
      return kNoGuard;
    }
  }
  long idx = slot_alloc();
  if (idx < 0) {
    snprintf(err, errlen, "too many transfers in flight (the guard table holds %zu)", kMaxGuards);
    *failed = true;
    return kNoGuard;
  }
  Slot& s = slots()[idx];
  s.start.store(a, std::memory_order_relaxed);
  s.end.store(a + len, std::memory_order_relaxed);
  s.dir.store(static_cast<int>(dir), std::memory_order_relaxed);
  s.call.store(info.call ? info.call : "", std::memory_order_relaxed);
  s.peer.store(info.peer, std::memory_order_relaxed);
  s.tag.store(info.tag, std::memory_order_relaxed);
  s.bytes.store(info.bytes, std::memory_order_relaxed);
  s.request_id.store(info.request_id, std::memory_order_relaxed);
  size_t n = 0;
  if (js_stack) {
    while (js_stack[n] && n < kStackChars - 1) { s.stack[n] = js_stack[n]; n++; }
  }
  s.stack[n] = '\0';
  s.transfer_done.store(0, std::memory_order_relaxed);
  s.seq.fetch_add(1, std::memory_order_release);  // odd: active, visible to the handler

  for (size_t i = 0; i < npages; i++) {
    PageState* ps = page_lookup(first + i * kPageSize);
    (dir == Direction::Inbound ? ps->in : ps->out).fetch_add(1);
    ps->gen.fetch_add(1);
  }
  converge(first, npages, false);
  engine().acquired.fetch_add(1, std::memory_order_relaxed);
  return static_cast<GuardId>(idx);
}

void release(GuardId id) {
  if (id < 0 || static_cast<size_t>(id) >= kMaxGuards) return;
  ExactMatchScope exact_only;
  // Under the lock a second, concurrent release of the same id finds the slot released.
  std::lock_guard<std::mutex> lock(g_state_mutex);
  Slot& s = slots()[id];
  uint32_t seq = s.seq.load();
  if ((seq & 1) == 0) return;  // already released
  const uintptr_t a = s.start.load(), len = s.end.load() - a;
  const Direction dir = static_cast<Direction>(s.dir.load());
  const uintptr_t first = a & kPageMask;
  const size_t npages = (((a + len - 1) & kPageMask) - first) / kPageSize + 1;
  for (size_t i = 0; i < npages; i++) {
    PageState* ps = page_lookup(first + i * kPageSize);
    (dir == Direction::Inbound ? ps->in : ps->out).fetch_sub(1);
    ps->gen.fetch_add(1);
  }
  // Lift before waking so a woken access finds its page open; pages other guards still
  // cover keep the protection those guards need.
  converge(first, npages, false);
  s.seq.fetch_add(1, std::memory_order_release);  // even: released
  // Free the slot before waking, so a woken thread sees the guard gone from the stats too.
  // A reuse before the wake only makes the seq differ more: sleepers still wake and recheck.
  slot_free(static_cast<size_t>(id));
  futex_wake_all(&s.seq);
}

bool is_active(GuardId id) {
  if (id < 0 || static_cast<size_t>(id) >= kMaxGuards) return false;
  return (slots()[id].seq.load() & 1) != 0;
}

void release_all() {
  ExactMatchScope exact_only;
  size_t hw = high_water();
  for (size_t i = 0; i < hw; i++) {
    if (slots()[i].seq.load() & 1) release(static_cast<GuardId>(i));
  }
  reset_all_pages();
}

Stats stats() {
  EngineState& e = engine();
  return Stats{e.acquired.load(), e.waited.load(), e.lifted.load(), e.collateral.load(),
               e.reports.load(),  mprotect_calls(), active_count()};
}

}  // namespace zc::guard
