// acquire/release: bookkeeping and protection changes outside signal context.
#include "guard/guard.h"
#include "guard/futex_trap.h"
#include "guard/rep_string_emulation.h"
#include "guard/scanning_functions.h"
#include "guard/signal_mask_trap.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <cerrno>
#include <mutex>
#include <new>
#include <vector>

#include "guard/guard_engine.h"
#include "guard/guard_index.h"
#include "guard/guard_table.h"
#include "guard/futex.h"
#include "guard/original_protection.h"
#include "guard/convergence.h"
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
// A page whose last lift failed still carries zcmpi's protection: not idle, so that
// protection is never learned as the page's own.
bool page_idle(const PageState& ps) {
  return ps.in.load() == 0 && ps.out.load() == 0 && ps.open.load() == 0 && ps.handler_busy.load() == 0 &&
         ps.applied.load() == ps.original.load();
}

// Brings pages back in line after their counts dropped (release, or undoing a failed
// acquire). A lift that fails (the kernel out of memory for mappings) is retried: leaving
// a page protected would make every later access to it wait or crash.
void lift(uintptr_t first, size_t npages) {
  int e = 0;
  for (int attempt = 0; !converge(first, npages, false, &e); attempt++) {
    if (attempt == 0 || attempt % 1000 == 999) {
      fprintf(stderr, "zcmpi: guard: lifting the protection of %zu page(s) at %#lx failed (%s); retrying\n", npages,
              static_cast<unsigned long>(first), strerror(e));
    }
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, nullptr);
  }
}

long read_max_map_count() {
  FILE* f = fopen("/proc/sys/vm/max_map_count", "r");
  if (!f) return -1;
  long v = -1;
  if (fscanf(f, "%ld", &v) != 1) v = -1;
  fclose(f);
  return v;
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
    // An idle known page already holds these (original == applied when idle): the common
    // case of a buffer guarded again, and three locked stores a page saved.
    if (ps->known.load() && ps->original.load() == prots[i]) continue;
    ps->original.store(prots[i]);
    ps->applied.store(prots[i]);
    ps->known.store(1);
  }
  return true;
}

// Protection keys when the machine has them and ZCMPI_GUARD_PKEYS is not 0; else mprotect.
// Decided once, before the first guard: pages keyed and pages protected are never mixed.
char g_mechanism_note[320] = "mprotect";
void choose_protection_mechanism() {
  static bool chosen = false;
  if (chosen) return;
  chosen = true;
  const char* env = getenv("ZCMPI_GUARD_PKEYS");
  if (env && strcmp(env, "0") == 0) {
    snprintf(g_mechanism_note, sizeof g_mechanism_note, "mprotect (ZCMPI_GUARD_PKEYS=0)");
    return;
  }
  char why[128] = "";
  if (allocate_guard_keys(why, sizeof why)) {
    snprintf(g_mechanism_note, sizeof g_mechanism_note, "protection keys %d (receive) and %d (send)", guard_key_in(), guard_key_out());
  } else {
    snprintf(g_mechanism_note, sizeof g_mechanism_note, "mprotect (no protection keys: %s)", why);
  }
}

// Once, with the first guarded init: libc's futex waits go through futex_trap.cpp so a
// mutex that merely shares a page with an in-flight plain buffer cannot abort the process.
void trap_kernel_futex_waits() {
  static bool tried = false;
  if (tried) return;
  tried = true;
  char why[128] = "";
  const size_t n = strlen(g_mechanism_note);
  if (install_futex_trap(why, sizeof why)) {
    snprintf(g_mechanism_note + n, sizeof g_mechanism_note - n, "; futex waits trapped%s",
             signal_mask_filter_installed() ? "; guard signals never blocked" : "; guard signals blockable (under ThreadSanitizer or MemorySanitizer)");
  } else {
    snprintf(g_mechanism_note + n, sizeof g_mechanism_note - n, "; futex waits NOT trapped: %s", why);
    fprintf(stderr, "zcmpi: warning: futex waits on pages shared with in-flight plain buffers are not protected (%s); "
                    "such a wait aborts the process. Use comm.alloc buffers.\n", why);
  }
}

// Once, with the first guarded init: where libc's strlen and kin live, so their over-reads
// past a string's end count as collateral (scanning_functions.h).
void learn_string_scanners() {
  static bool learned = false;
  if (learned) return;
  learned = true;
  learn_scanning_functions();
  const size_t n = strlen(g_mechanism_note);
  snprintf(g_mechanism_note + n, sizeof g_mechanism_note - n, "; %d scanning string functions known", scanning_functions_known());
}

}  // namespace

const char* protection_mechanism() { return g_mechanism_note; }

void reset_state_lock_after_fork() { new (&g_state_mutex) std::mutex(); }

EngineState& engine() {
  static EngineState state;
  return state;
}

bool init(Mode m, char* err, size_t errlen) {
  if (m != Mode::Off) {
    pku_probe();  // before the handlers: they read code bytes through PKRU
    choose_protection_mechanism();
    if (!install_fault_handlers(err, errlen)) return false;
    trap_kernel_futex_waits();
    learn_string_scanners();
    open_emulation_memory();
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
  reclaim_fault_handler();
  std::lock_guard<std::mutex> lock(g_state_mutex);
  if (!learn_pages(first, npages, err, errlen)) { *failed = true; return kNoGuard; }
  const int need = dir == Direction::Inbound ? (PROT_READ | PROT_WRITE) : PROT_READ;
  for (size_t i = 0; i < npages; i++) {
    const int orig = page_lookup(first + i * kPageSize)->original.load();
    if ((orig & need) != need) {
      snprintf(err, errlen, "buffer at %#lx is %s memory", static_cast<unsigned long>(a),
               dir == Direction::Inbound ? "read-only (a receive buffer must be writable)" : "unreadable");
      *failed = true;
      return kNoGuard;
    }
    if (keys_active() && (orig & PROT_EXEC)) {
      // Code pages may carry another key (V8's); restoring key 0 would break them.
      snprintf(err, errlen, "buffer at %#lx is executable memory (zcmpi guards data only)", static_cast<unsigned long>(a));
      *failed = true;
      return kNoGuard;
    }
  }
  long idx = slot_alloc();
  if (idx < 0) {
    snprintf(err, errlen, "too many transfers in flight (%zu guards, the address space reserved for the guard table)", kMaxGuards);
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
  char* text = s.stack.load(std::memory_order_relaxed);
  if (js_stack && js_stack[0] && !text) {
    text = new (std::nothrow) char[kStackChars];
    if (text) { text[0] = '\0'; s.stack.store(text, std::memory_order_release); }
  }
  if (text) {
    size_t n = 0;
    if (js_stack) {
      while (js_stack[n] && n < kStackChars - 1) { text[n] = js_stack[n]; n++; }
    }
    text[n] = '\0';
  }
  s.transfer_done.store(0, std::memory_order_relaxed);
  index_add(static_cast<size_t>(idx), a, a + len);  // on its pages before it is active (guard_index.h)
  s.seq.fetch_add(1, std::memory_order_release);  // odd: active, visible to the handler

  for (size_t i = 0; i < npages; i++) {
    PageState* ps = page_lookup(first + i * kPageSize);
    (dir == Direction::Inbound ? ps->in : ps->out).fetch_add(1);
    ps->gen.fetch_add(1);
  }
  int e = 0;
  if (!converge(first, npages, false, &e)) {
    // Nothing stays half-protected: drop this guard's counts, put back what was applied,
    // and fail the request with the reason.
    for (size_t i = 0; i < npages; i++) {
      PageState* ps = page_lookup(first + i * kPageSize);
      (dir == Direction::Inbound ? ps->in : ps->out).fetch_sub(1);
      ps->gen.fetch_add(1);
    }
    lift(first, npages);
    s.seq.fetch_add(1, std::memory_order_release);
    slot_free(static_cast<size_t>(idx));
    futex_wake_all(&s.seq);
    const long max_maps = e == ENOMEM ? read_max_map_count() : -1;
    if (max_maps > 0) {
      snprintf(err, errlen, "cannot protect %zu page(s) at %#lx: %s (errno %d; the process may be at vm.max_map_count = %ld mappings)",
               npages, static_cast<unsigned long>(first), strerror(e), e, max_maps);
    } else {
      snprintf(err, errlen, "cannot protect %zu page(s) at %#lx: %s (errno %d)", npages, static_cast<unsigned long>(first),
               strerror(e), e);
    }
    *failed = true;
    return kNoGuard;
  }
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
  lift(first, npages);
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
  // Each release lifted its pages (retrying failures) under the state lock. No wholesale
  // reset of the page table here: another thread may be single-stepping through a page
  // (its `open` count and protection belong to that step until its trap). The fork child,
  // where no such thread exists, resets everything (fork_reset.cpp).
}

Stats stats() {
  EngineState& e = engine();
  return Stats{e.acquired.load(), e.waited.load(), e.lifted.load(), e.collateral.load(),
               e.reports.load(),  mprotect_calls(), active_count()};
}

}  // namespace zc::guard
