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
#include <atomic>
#include <cerrno>
#include <new>

#include "guard/access_decoder.h"
#include "guard/futex.h"
#include "guard/guard.h"
#include "guard/guard_engine.h"
#include "guard/observation.h"
#include "guard/guard_table.h"
#include "guard/convergence.h"
#include "guard/page_table.h"
#include "guard/pkru.h"
#include "guard/raw_syscall.h"
#include "guard/rep_string_emulation.h"
#include "guard/scanning_functions.h"
#include "guard/signal_mask_trap.h"
#include "guard/signal_safe_writer.h"

#if !defined(__x86_64__)
#error "zcmpi's fault path reads the x86-64 page-fault error code and trap flag; other architectures are not supported yet"
#endif

namespace zc::guard {
namespace {

// The handlers we chain to. Double-buffered: a handler on another thread may be chaining
// through the previous one while a reclaim records a new one.
class ChainTarget {
 public:
  const struct sigaction& get() const { return sa_[cur_.load(std::memory_order_acquire)]; }
  void set(const struct sigaction& v) {
    const int next = 1 - cur_.load(std::memory_order_relaxed);
    sa_[next] = v;
    cur_.store(next, std::memory_order_release);
  }
  bool try_lock() { return !busy_.test_and_set(std::memory_order_acquire); }
  void unlock() { busy_.clear(std::memory_order_release); }

 private:
  struct sigaction sa_[2] = {};
  std::atomic<int> cur_{0};
  std::atomic_flag busy_ = ATOMIC_FLAG_INIT;
};
ChainTarget g_prev_segv;
ChainTarget g_prev_trap;
std::atomic<bool> g_installed{false};

constexpr long kTrapFlag = 0x100;  // EFLAGS.TF: trap after the next instruction
constexpr int kMaxOpen = 4;

// initial-exec TLS: a dlopen'ed addon's default TLS model may call malloc on first use,
// which the handler must never do.
#define ZC_TLS __thread __attribute__((tls_model("initial-exec")))
ZC_TLS uintptr_t t_open[kMaxOpen];  // pages opened by mprotect for this thread's step
ZC_TLS int t_open_count;
ZC_TLS int t_step_active;           // a collateral single step is in flight on this thread
ZC_TLS uint32_t t_step_saved_bits;  // the guard keys' PKRU bits before the step (key mode)
ZC_TLS int t_step_tf_was_set;       // the program had the trap flag set itself
ZC_TLS const char* t_transport_name;
ZC_TLS void* t_alt_stack;
ZC_TLS int t_exact_scope_depth;
// Retries of a fault on a tracked page that nothing guards any more (see on_segv).
ZC_TLS uintptr_t t_retry_addr;
ZC_TLS uint32_t t_retry_gen;
ZC_TLS uint32_t t_retry_count;
constexpr uint32_t kMaxRetries = 64;

// A handler must leave errno as the interrupted code had it (mprotect, futex and
// sigaction calls here may set it).
class ErrnoKeeper {
 public:
  ErrnoKeeper() : saved_(errno) {}
  ~ErrnoKeeper() { errno = saved_; }

 private:
  int saved_;
};

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
  const char* stack = s.stack.load(std::memory_order_acquire);
  if (stack && stack[0]) {
    w.str("    posted at:\n");
    w.flush();
    // Print the stack line by line, indented; it was captured when the request was posted.
    const char* p = stack;
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
    if (!futex_wait(&s.seq, v.seq, int64_t{strict ? 1 : long_wait} * 1000000)) {
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

// Re-protects the pages this thread opened for a single step (mprotect mode).
void close_open_pages() {
  for (int i = 0; i < t_open_count; i++) {
    PageState* ps = page_lookup(t_open[i]);
    ps->open.fetch_sub(1);
    ps->gen.fetch_add(1);
    converge_page(t_open[i], true);
  }
  t_open_count = 0;
}

void fatal(const char* what) {
  SignalSafeWriter w;
  w.str("zcmpi: fatal: rank ").dec(engine().rank.load()).str(": ").str(what).str("\n");
  w.flush();
  abort();
}

// Ends this thread's single step in the frame `uc` (the trap's, or the fault's when the
// access must wait instead): the guard keys' PKRU bits as they were, pages closed, the
// trap flag as the program had it.
void end_step(ucontext_t* uc) {
  if (t_step_active && keys_active()) {
    uint32_t pkru;
    if (frame_pkru(uc, &pkru)) set_frame_pkru(uc, (pkru & ~guard_key_bits()) | t_step_saved_bits);
  }
  if (t_open_count > 0) close_open_pages();
  if (!t_step_tf_was_set) uc->uc_mcontext.gregs[REG_EFL] &= ~kTrapFlag;
  t_step_active = 0;
}

void chain(int sig, siginfo_t* info, void* uc, const ChainTarget& target) {
  const struct sigaction& prev = target.get();
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction) { prev.sa_sigaction(sig, info, uc); return; }
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    prev.sa_handler(sig);
    return;
  }
  // Nobody else wants it: restore the default action. A SIGSEGV repeats when we return
  // and ends the process as without zcmpi; a trap is raised again.
  // Raw calls: libc's sigaction and raise would be trapped (signal_mask_trap.h), and this
  // handler may run inside the SIGSYS handler, where a trap would kill the process.
  KernelSigaction dfl = {nullptr, 0, nullptr, 0};  // SIG_DFL
  zc::raw_syscall6(SYS_rt_sigaction, sig, reinterpret_cast<long>(&dfl), 0, sizeof(uint64_t), 0, 0);
  if (sig != SIGSEGV)
    zc::raw_syscall6(SYS_tgkill, zc::raw_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0), zc::raw_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0), sig, 0, 0, 0);
}

void on_segv(int sig, siginfo_t* info, void* ucv);
void on_trap(int sig, siginfo_t* info, void* ucv);

// Another handler installed over ours without chaining (libuv for process.on('SIGTRAP'),
// which signal-exit registers; V8 restoring the handler it replaced; a later library)
// would take our faults or traps: a guard fault then loops or kills, a single step traps
// forever. Take the handler back, chaining to whoever replaced it. Raw rt_sigaction, as in
// chain(); a concurrent reclaim on another thread simply skips.
void* g_restorer = nullptr;  // libc's sigreturn trampoline, as our install recorded it

void reclaim(int sig, void (*ours)(int, siginfo_t*, void*), ChainTarget& target) {
  if (!target.try_lock()) return;
  KernelSigaction cur{};
  const long q = zc::raw_syscall6(SYS_rt_sigaction, sig, 0, reinterpret_cast<long>(&cur), sizeof(uint64_t), 0, 0);
  if (q == 0 && !((cur.flags & SA_SIGINFO) && cur.handler == reinterpret_cast<void*>(ours))) {
    struct sigaction prev;
    memset(&prev, 0, sizeof prev);
    prev.sa_sigaction = reinterpret_cast<void (*)(int, siginfo_t*, void*)>(cur.handler);
    prev.sa_flags = static_cast<int>(cur.flags);
    memcpy(&prev.sa_mask, &cur.mask, sizeof cur.mask);
    prev.sa_restorer = reinterpret_cast<void (*)()>(cur.restorer);
    target.set(prev);
    KernelSigaction sa = {reinterpret_cast<void*>(ours), SA_SIGINFO | SA_ONSTACK | SA_RESTORER, g_restorer, 0};
    zc::raw_syscall6(SYS_rt_sigaction, sig, reinterpret_cast<long>(&sa), 0, sizeof(uint64_t), 0, 0);
  }
  target.unlock();
}

bool reads_only(const DecodedAccesses& acc) {
  for (int i = 0; i < acc.count; i++)
    if (acc.at[i].write) return false;
  return true;
}

// Does any range the instruction touches conflict with a guard?
bool accesses_conflict(const DecodedAccesses& acc, size_t* idx, SlotView* v) {
  for (int i = 0; i < acc.count; i++) {
    if (find_conflict(acc.at[i].lo, acc.at[i].hi, acc.at[i].write, idx, v)) return true;
  }
  return false;
}

void on_segv(int sig, siginfo_t* info, void* ucv) {
  ErrnoKeeper errno_keeper;
  ucontext_t* uc = static_cast<ucontext_t*>(ucv);
  const bool key_fault = info->si_code == SEGV_PKUERR;
  if (info->si_code != SEGV_ACCERR && !key_fault) return chain(sig, info, ucv, g_prev_segv);
  const int fault_key = key_fault ? static_cast<int>(info->si_pkey) : 0;
  const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  const uintptr_t page = addr & kPageMask;
  PageState* ps = page_lookup(page);
  if (!ps || !ps->known.load()) return chain(sig, info, ucv, g_prev_segv);
  // A key fault on a key that is not ours (V8's code space) is not ours either, unless
  // the page is one of ours: the kernel names the key the page has when it handles the
  // fault, so a release that reset the key to 0 after the CPU faulted shows up as key 0.
  if (key_fault && (!keys_active() || (fault_key != guard_key_in() && fault_key != guard_key_out())) &&
      !(keys_active() && ps->known.load()))
    return chain(sig, info, ucv, g_prev_segv);
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
      if (ps->handler_busy.load() > 0) {
        // A protection change on this page is in progress (a release or another thread's
        // step): its result decides; wait a moment without counting a retry.
        struct timespec pause = {0, 20000};
        nanosleep(&pause, nullptr);
        return;
      }
      const uint32_t gen = ps->gen.load();
      if (t_retry_addr != addr || t_retry_gen != gen) {
        t_retry_addr = addr;
        t_retry_gen = gen;
        t_retry_count = 0;
      }
      if (++t_retry_count <= kMaxRetries) {
        if (t_retry_count == 1) engine().lifted.fetch_add(1, std::memory_order_relaxed);
        if (t_retry_count > 1) {
          // A concurrent converge may still be undoing a stale protection on this page.
          struct timespec pause = {0, 20000};
          nanosleep(&pause, nullptr);
        }
        return;
      }
    }
    t_retry_addr = 0;
    return chain(sig, info, ucv, g_prev_segv);
  }

  size_t idx = 0;
  SlotView v{};
  // Every byte of every address the instruction touches must be outside the guards that
  // conflict with it (see access_decoder.h): the rest of a wide access that starts next
  // to a guard, the other operand of a string instruction. Only a decoded overlap or a
  // guarded first byte is reported in strict mode.
  // Transport threads, and zcmpi's own code on any thread (ExactMatchScope), only touch
  // bytes near a guard by accident (malloc metadata right before a plain buffer) and may
  // hold locks completions need: for them only the exact byte counts, so they never wait
  // on (or abort for) a neighbour.
  const bool exact = find_conflict(addr, addr + 1, is_write, &idx, &v);
  bool other = false;
  DecodedAccesses acc;
  if (!exact && !t_transport_name && t_exact_scope_depth == 0) {
    // The code may carry a protection key the handler's PKRU denies (V8's code space):
    // copy the bytes with every key open instead of dereferencing RIP here.
    uint8_t code[16] = {};
    const size_t got = read_program_bytes(reinterpret_cast<const void*>(uc->uc_mcontext.gregs[REG_RIP]), code, sizeof code);
    decode_accesses(code, got, uc, addr, is_write, &acc);
    other = accesses_conflict(acc, &idx, &v);
    // A read that starts outside every guard, from libc's strlen and kin: their vector
    // loads run past the string's end into the neighbouring buffer, and those bytes cannot
    // change the result (scanning_functions.h). Collateral, not an early read, provided no
    // operand of the instruction writes (a string move's destination may be a guard).
    if (other && !is_write && acc.decoded && reads_only(acc) && in_scanning_function(static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP])))
      other = false;
  }
  if (exact || other) {
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
    // Don't keep a step open while we sleep; the access re-faults after the wait and is
    // stepped again if it still needs one.
    if (!done && t_step_active) end_step(uc);
    if ((exact || acc.decoded) && static_cast<Mode>(engine().mode.load()) == Mode::Strict) {
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

  // The guards that protected this page are gone or changed (a release raced with us):
  // bring the page in line and retry. With keys that means the page no longer carries the
  // key that faulted; whether the key lets this access through depends on the thread's
  // PKRU, handled below.
  const uint8_t want = desired_state(*ps);
  if (key_fault ? state_key(want) != fault_key : state_allows(want, need)) {
    converge_page(page, true);
    engine().lifted.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if ((ps->original.load() & need) != need) return chain(sig, info, ucv, g_prev_segv);

  // Collateral: every byte the instruction touches is outside every conflicting guard.
  // A rep movs/stos would be stepped one iteration per fault: carry out its collateral
  // iterations here instead (rep_string_emulation.h). A read of a send buffer by a thread
  // that predates the keys is better served by fixing its PKRU below, once.
  if (acc.rep_string && !t_step_active && !(key_fault && fault_key == guard_key_out() && !is_write) &&
      emulate_rep_string(uc, acc) > 0) {
    engine().collateral.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (key_fault) {
    // Let exactly this thread through, for exactly one instruction: open the key in the
    // PKRU that sigreturn restores for it. No other thread's view changes.
    uint32_t pkru;
    if (!frame_pkru(uc, &pkru)) fatal("a protection-key fault arrived without a PKRU slot in its signal frame");
    if (fault_key == guard_key_out() && !is_write && (pkru & pkru_ad(fault_key))) {
      // A thread that existed before the keys denies every access to them; send
      // buffers are readable: from now on this thread only has writes disabled.
      set_frame_pkru(uc, (pkru & ~pkru_ad(fault_key)) | pkru_wd(fault_key));
      return;
    }
    if (!t_step_active) {
      reclaim(SIGTRAP, on_trap, g_prev_trap);
      t_step_saved_bits = pkru & guard_key_bits();
      t_step_tf_was_set = (uc->uc_mcontext.gregs[REG_EFL] & kTrapFlag) != 0;
      t_step_active = 1;
    }
    set_frame_pkru(uc, pkru & ~pkru_bits(fault_key));
    uc->uc_mcontext.gregs[REG_EFL] |= kTrapFlag;
    engine().collateral.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Without keys: open the page itself for one instruction. Every thread sees it open
  // until the trap closes it (docs/design.md, "Without protection keys").
  if (t_open_count >= kMaxOpen) {
    // An instruction touching more protected pages than we track: close and retry.
    close_open_pages();
  }
  if (!t_step_active) {
    reclaim(SIGTRAP, on_trap, g_prev_trap);
    t_step_tf_was_set = (uc->uc_mcontext.gregs[REG_EFL] & kTrapFlag) != 0;
    t_step_active = 1;
  }
  ps->open.fetch_add(1);
  ps->gen.fetch_add(1);
  converge_page(page, true);
  t_open[t_open_count++] = page;
  uc->uc_mcontext.gregs[REG_EFL] |= kTrapFlag;
  engine().collateral.fetch_add(1, std::memory_order_relaxed);
}

void on_trap(int sig, siginfo_t* info, void* ucv) {
  ErrnoKeeper errno_keeper;
  // Only a single-step trap (TRAP_TRACE) on a thread with a step in flight is ours; a
  // SIGTRAP sent with kill or raised by int3 goes on to whoever wants it.
  if (info->si_code != TRAP_TRACE || !t_step_active) return chain(sig, info, ucv, g_prev_trap);
  ucontext_t* uc = static_cast<ucontext_t*>(ucv);
  const bool theirs = t_step_tf_was_set;
  end_step(uc);
  if (theirs) chain(sig, info, ucv, g_prev_trap);  // the program was single-stepping itself
}

}  // namespace

void reclaim_fault_handler() {
  if (g_installed.load()) reclaim(SIGSEGV, on_segv, g_prev_segv);
}

bool install_fault_handlers(char* err, size_t errlen) {
  bool expected = false;
  if (!g_installed.compare_exchange_strong(expected, true)) return true;
  struct sigaction sa, prev;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, &prev) != 0) {
    snprintf(err, errlen, "sigaction(SIGSEGV) failed: %s", strerror(errno));
    g_installed.store(false);
    return false;
  }
  g_prev_segv.set(prev);
  sa.sa_sigaction = on_trap;
  if (sigaction(SIGTRAP, &sa, &prev) != 0) {
    snprintf(err, errlen, "sigaction(SIGTRAP) failed: %s", strerror(errno));
    return false;
  }
  g_prev_trap.set(prev);
  // reclaim() reinstalls by raw system call, which needs libc's sigreturn trampoline.
  KernelSigaction k{};
  if (zc::raw_syscall6(SYS_rt_sigaction, SIGTRAP, 0, reinterpret_cast<long>(&k), sizeof(uint64_t), 0, 0) == 0) g_restorer = k.restorer;
  return true;
}

namespace {
void unblock_fault_signals() {
  // A synchronous SIGSEGV on a thread that blocks it kills the process without running
  // any handler; every thread zcmpi prepares takes faults and traps.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGSEGV);
  sigaddset(&set, SIGTRAP);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}
}  // namespace

void adopt_guard_keys() {
  // The thread may predate the keys (the kernel's default PKRU denies every access to
  // them, reads of send buffers included, and a kernel read on its behalf, write(2) from a
  // send buffer, fails with EFAULT instead of faulting): give it the engine's rights. Only
  // our keys' bits change.
  if (!keys_active()) return;
  const uint32_t want = pkru_ad(guard_key_in()) | pkru_wd(guard_key_out());
  const uint32_t cur = rdpkru();
  if ((cur & guard_key_bits()) != want) wrpkru((cur & ~guard_key_bits()) | want);
}

void ensure_alt_stack() {
  adopt_guard_keys();
  if (t_alt_stack) return;
  unblock_fault_signals();
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
