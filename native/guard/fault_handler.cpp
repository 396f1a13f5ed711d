// The fault path. Everything here runs inside SIGSEGV/SIGTRAP handlers, on any thread, at
// any instruction (inside malloc, inside V8): only lock-free reads, atomics, mprotect,
// futex waits and write(2). Completions come from native transport threads, never from
// the thread that faulted, so waiting here cannot deadlock on our own work.
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "guard/access_width.h"
#include "guard/futex.h"
#include "guard/guard.h"
#include "guard/guard_engine.h"
#include "guard/observation.h"
#include "guard/guard_table.h"
#include "guard/page_table.h"
#include "guard/pkru.h"
#include "guard/signal_safe_writer.h"

#if !defined(__x86_64__)
#error "zcmpi's fault path reads the x86-64 page-fault error code and trap flag; other architectures are not supported yet"
#endif

namespace zc::guard {
namespace {

struct sigaction g_prev_segv;
struct sigaction g_prev_trap;
std::atomic<bool> g_installed{false};

constexpr long kTrapFlag = 0x100;  // EFLAGS.TF: trap after the next instruction
constexpr int kMaxOpen = 4;
constexpr uintptr_t kMaxAccessBytes = 64;  // the widest single-instruction access (AVX-512)

// initial-exec TLS: a dlopen'ed addon's default TLS model may call malloc on first use,
// which the handler must never do.
#define ZC_TLS __thread __attribute__((tls_model("initial-exec")))
ZC_TLS uintptr_t t_open[kMaxOpen];
ZC_TLS int t_open_count;
ZC_TLS const char* t_transport_name;
ZC_TLS void* t_alt_stack;
ZC_TLS int t_exact_scope_depth;
// Retries of a fault on a tracked page that nothing guards any more (see on_segv).
ZC_TLS uintptr_t t_retry_addr;
ZC_TLS uint32_t t_retry_gen;
ZC_TLS uint32_t t_retry_count;
constexpr uint32_t kMaxRetries = 64;

uint64_t now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

const char* hazard_name(Direction dir, bool is_write) {
  if (dir == Direction::Outbound) return "write-to-send-buffer";
  return is_write ? "write-to-receive-buffer" : "read-of-receive-buffer";
}

void describe_request(SignalSafeWriter& w, const Slot& s) {
  w.str("request #").dec(static_cast<int64_t>(s.request_id.load())).str(": ").str(s.call.load());
  int32_t peer = s.peer.load();
  w.str(static_cast<Direction>(s.dir.load()) == Direction::Outbound ? " to rank " : " from ");
  if (peer < 0) w.str("any source"); else { if (static_cast<Direction>(s.dir.load()) == Direction::Inbound) w.str("rank "); w.dec(peer); }
  int64_t tag = s.tag.load();
  w.str(", tag ");
  if (tag < 0) w.str("any"); else w.dec(tag);
  w.str(", ").dec(static_cast<int64_t>(s.bytes.load())).str(" bytes");
}

void report_hazard(const Slot& s, const SlotView& v, uintptr_t addr, bool is_write) {
  SignalSafeWriter w;
  int rank = engine().rank.load();
  const char* hazard = hazard_name(v.dir, is_write);
  w.str("ERROR: zcmpi: ").str(hazard).str(" on rank ").dec(rank).str(": ");
  if (v.dir == Direction::Outbound) w.str("the program wrote to a send buffer before its request completed\n");
  else w.str(is_write ? "the program wrote to a receive buffer before its request completed\n"
                      : "the program read a receive buffer before its request completed\n");
  w.str("    access: ").str(is_write ? "write" : "read").str(" at ").hex(addr).str(" (byte ")
      .dec(static_cast<int64_t>(addr - v.start)).str(" of ").dec(static_cast<int64_t>(v.end - v.start)).str(")\n");
  w.str("    ");
  describe_request(w, s);
  w.str("\n");
  w.flush();
  if (s.stack[0]) {
    w.str("    posted at:\n");
    w.flush();
    // Print the stack line by line, indented; it was captured when the request was posted.
    const char* p = s.stack;
    while (*p) {
      const char* eol = p;
      while (*eol && *eol != '\n') eol++;
      w.str("      ");
      char line[512];
      size_t n = static_cast<size_t>(eol - p) < sizeof line - 1 ? static_cast<size_t>(eol - p) : sizeof line - 1;
      memcpy(line, p, n);
      line[n] = '\0';
      w.str(line).str("\n");
      w.flush();
      p = *eol ? eol + 1 : eol;
    }
  }
  w.str(s.transfer_done.load() ? "    the transfer had completed, but the program had not observed it (await, wait(), test(), waitall); the rank will exit with status 66\n"
                                : "    the access waits for the request to complete (the run stays correct); the rank will exit with status 66\n");
  w.flush();
}

void wait_for_release(size_t idx, const SlotView& v, uintptr_t addr) {
  Slot& s = slots()[idx];
  uint64_t began = now_ms();
  const uint32_t long_wait = engine().long_wait_ms.load();
  uint64_t next_note = began + long_wait;
  // Strict mode: the transfer can end without a release (the guard stays until the program
  // observes it, observation.h); set_transfer_done wakes us, and the wait also looks every
  // millisecond, since that wake can come between the check and the sleep.
  const bool strict = static_cast<Mode>(engine().mode.load()) == Mode::Strict;
  while (s.seq.load() == v.seq && !transfer_done(idx)) {
    if (!futex_wait(&s.seq, v.seq, strict ? 1 : long_wait)) {
      if (s.seq.load() != v.seq || transfer_done(idx)) break;
      if (now_ms() < next_note) continue;
      next_note += long_wait;
      SignalSafeWriter w;
      w.str("zcmpi: rank ").dec(engine().rank.load()).str(": an access to ").hex(addr).str(" has waited ")
          .dec(static_cast<int64_t>((now_ms() - began) / 1000)).str(" s for ");
      describe_request(w, s);
      w.str(" to complete; still waiting\n");
      w.flush();
    }
  }
  engine().waited.fetch_add(1, std::memory_order_relaxed);
}

// Re-protects the pages this thread opened for a single step.
void close_open_pages() {
  for (int i = 0; i < t_open_count; i++) {
    PageState* ps = page_lookup(t_open[i]);
    ps->open.fetch_sub(1);
    ps->gen.fetch_add(1);
    converge_page(t_open[i], true);
  }
  t_open_count = 0;
}

void chain(int sig, siginfo_t* info, void* uc, const struct sigaction& prev) {
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction) { prev.sa_sigaction(sig, info, uc); return; }
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    prev.sa_handler(sig);
    return;
  }
  // Nobody else wants it: restore the default action. A SIGSEGV repeats when we return
  // and ends the process as without zcmpi; a trap is raised again.
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(sig, &dfl, nullptr);
  if (sig != SIGSEGV) raise(sig);
}

void on_trap(int sig, siginfo_t* info, void* ucv);

// Node's process.on('SIGTRAP') (signal-exit registers it, so test runners and many CLI
// tools do) makes libuv install its own SIGTRAP handler over ours, without chaining. A
// single step whose trap lands there keeps the trap flag set: the thread then traps after
// every instruction, forever, with the page left open. So before each single step, take
// the handler back if it was replaced, chaining to whoever replaced it. sigaction is
// async-signal-safe. (g_prev_trap is rewritten here; a concurrent chain of a foreign trap
// on another thread may see either handler.)
void reclaim_trap_handler() {
  const int saved = errno;
  struct sigaction cur;
  if (sigaction(SIGTRAP, nullptr, &cur) == 0 && !((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_trap)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    g_prev_trap = cur;
    sigaction(SIGTRAP, &sa, nullptr);
  }
  errno = saved;
}

void on_segv(int sig, siginfo_t* info, void* ucv) {
  ucontext_t* uc = static_cast<ucontext_t*>(ucv);
  if (info->si_code != SEGV_ACCERR) return chain(sig, info, ucv, g_prev_segv);
  const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  const uintptr_t page = addr & kPageMask;
  PageState* ps = page_lookup(page);
  if (!ps || !ps->known.load()) return chain(sig, info, ucv, g_prev_segv);
  const greg_t error_code = uc->uc_mcontext.gregs[REG_ERR];
  // An instruction fetch from a page we protect is not an access to a buffer (zcmpi never
  // guards code), and decoding the instruction would fault again: not ours.
  if (error_code & 0x10) return chain(sig, info, ucv, g_prev_segv);
  const bool is_write = (error_code & 2) != 0;
  const int need = is_write ? PROT_WRITE : PROT_READ;
  if (!page_is_guarded(*ps)) {
    // A release may have lifted the page between the CPU's fault and this check (release
    // lifts before it wakes waiters): the access then only needs to run again. A page we
    // once tracked that keeps faulting with nothing guarded and no count changing was
    // protected by someone else: after a few retries chain, so a genuine crash still
    // crashes. A changed generation means a new acquire/release, so the count restarts.
    if ((ps->original.load() & need) == need) {
      const uint32_t gen = ps->gen.load();
      if (t_retry_addr != addr || t_retry_gen != gen) {
        t_retry_addr = addr;
        t_retry_gen = gen;
        t_retry_count = 0;
      }
      if (++t_retry_count <= kMaxRetries) {
        if (t_retry_count == 1) engine().lifted.fetch_add(1, std::memory_order_relaxed);
        if (t_retry_count > 1) {
          // A concurrent converge may still be undoing a stale mprotect on this page.
          const int saved = errno;
          struct timespec pause = {0, 20000};
          nanosleep(&pause, nullptr);
          errno = saved;
        }
        return;
      }
    }
    t_retry_addr = 0;
    return chain(sig, info, ucv, g_prev_segv);
  }

  size_t idx;
  SlotView v;
  // The faulting address is the first byte of the access. An access that starts just before
  // a guard and runs into it (a Float64 element, a vector load in memcpy) touches in-flight
  // bytes too, so its width is decoded from the instruction: [addr, addr + width) must not
  // overlap a conflicting guard. When the encoding is unknown we assume the widest access
  // (64 bytes, AVX-512), which can make a neighbour just before a guard wait; only a decoded
  // overlap or a guarded first byte is reported in strict mode.
  // Transport threads, and zcmpi's own code on any thread (ExactMatchScope), only touch
  // bytes near a guard by accident (malloc metadata right before a plain buffer) and may
  // hold locks completions need: for them only the exact byte counts, so they never wait
  // on (or abort for) a neighbour.
  const bool exact = find_conflict(addr, addr + 1, is_write, &idx, &v);
  unsigned width = 0;
  bool straddle = false;
  if (!exact && !t_transport_name && t_exact_scope_depth == 0) {
    // The code may carry a protection key the handler's PKRU denies (V8's code space):
    // copy the bytes with every key open instead of dereferencing RIP here.
    uint8_t code[16] = {};
    read_program_bytes(reinterpret_cast<const void*>(uc->uc_mcontext.gregs[REG_RIP]), code, sizeof code);
    width = access_width(code);
    const uintptr_t span = width ? width : kMaxAccessBytes;
    const uintptr_t window_end = (addr + span < page + kPageSize) ? addr + span : page + kPageSize;
    straddle = window_end > addr + 1 && find_conflict(addr, window_end, is_write, &idx, &v);
  }
  if (exact || straddle) {
    if (t_transport_name) {
      SignalSafeWriter w;
      w.str("zcmpi: fatal: rank ").dec(engine().rank.load()).str(": transport thread '").str(t_transport_name)
          .str("' touched a guarded buffer at ").hex(addr).str(" (");
      describe_request(w, slots()[idx]);
      w.str("); transports must use the device view. Aborting instead of waiting on itself.\n");
      w.flush();
      abort();
    }
    // Strict mode keeps a guard until the program observes its request's completion; once
    // the transfer is done, a conflicting access is reported below but does not wait: it is
    // stepped through like a collateral access (observation.h).
    const bool done = transfer_done(idx);
    // Don't hold pages open for a single step while we sleep: other threads could slip
    // through. The access re-faults after the wait and is stepped again if needed.
    if (!done && t_open_count > 0) {
      close_open_pages();
      uc->uc_mcontext.gregs[REG_EFL] &= ~kTrapFlag;
    }
    if ((exact || (straddle && width != 0)) && static_cast<Mode>(engine().mode.load()) == Mode::Strict) {
      Slot& s = slots()[idx];
      if (s.reported_seq.exchange(v.seq) != v.seq) {
        report_hazard(s, v, addr, is_write);
        engine().reports.fetch_add(1);
      }
    }
    if (!done) {
      wait_for_release(idx, v, addr);
      return;  // the access retries; the release lifted the protection
    }
  }

  if ((desired_prot(*ps) & need) == need) {
    // The guards that protected this page are gone (a release raced with us): open it.
    converge_page(page, true);
    engine().lifted.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if ((ps->original.load() & need) != need) return chain(sig, info, ucv, g_prev_segv);
  if (t_open_count >= kMaxOpen) {
    // An instruction touching more protected pages than we track: close and retry.
    close_open_pages();
  }
  // Collateral: the byte is outside every guard but shares a page with one. Open the page
  // for exactly one instruction; the trap handler closes it again.
  reclaim_trap_handler();
  ps->open.fetch_add(1);
  ps->gen.fetch_add(1);
  converge_page(page, true);
  t_open[t_open_count++] = page;
  uc->uc_mcontext.gregs[REG_EFL] |= kTrapFlag;
  engine().collateral.fetch_add(1, std::memory_order_relaxed);
}

void on_trap(int sig, siginfo_t* info, void* ucv) {
  if (t_open_count == 0) return chain(sig, info, ucv, g_prev_trap);
  ucontext_t* uc = static_cast<ucontext_t*>(ucv);
  close_open_pages();
  uc->uc_mcontext.gregs[REG_EFL] &= ~kTrapFlag;
}

}  // namespace

bool install_fault_handlers(char* err, size_t errlen) {
  bool expected = false;
  if (!g_installed.compare_exchange_strong(expected, true)) return true;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, &g_prev_segv) != 0) {
    snprintf(err, errlen, "sigaction(SIGSEGV) failed: %s", strerror(errno));
    g_installed.store(false);
    return false;
  }
  sa.sa_sigaction = on_trap;
  if (sigaction(SIGTRAP, &sa, &g_prev_trap) != 0) {
    snprintf(err, errlen, "sigaction(SIGTRAP) failed: %s", strerror(errno));
    return false;
  }
  return true;
}

void ensure_alt_stack() {
  if (t_alt_stack) return;
  stack_t cur;
  if (sigaltstack(nullptr, &cur) == 0 && !(cur.ss_flags & SS_DISABLE) && cur.ss_size >= 32768) {
    t_alt_stack = cur.ss_sp;  // the thread already has one (V8, UCX): keep it
    return;
  }
  const size_t size = 128 * 1024;
  void* mem = mmap(nullptr, size + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (mem == MAP_FAILED) return;
  mprotect(mem, 4096, PROT_NONE);  // guard page below the stack
  stack_t ss;
  ss.ss_sp = static_cast<char*>(mem) + 4096;
  ss.ss_size = size;
  ss.ss_flags = 0;
  if (sigaltstack(&ss, nullptr) == 0) t_alt_stack = ss.ss_sp;
}

void enter_exact_match() { t_exact_scope_depth++; }
void leave_exact_match() { t_exact_scope_depth--; }

void mark_transport_thread(const char* name) {
  t_transport_name = name ? name : "transport";
  ensure_alt_stack();
}

}  // namespace zc::guard
