#include "guard/futex_trap.h"

#include <dlfcn.h>
#include <link.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "guard/page_table.h"
#include "guard/pkru.h"
#include "guard/raw_syscall.h"
#include "guard/seccomp_filter.h"
#include "guard/signal_mask_trap.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

namespace zc::guard {
namespace {

constexpr uint32_t kTrapData = 0x5a43;  // SECCOMP_RET_DATA of our filter: si_errno of its SIGSYS

std::atomic<bool> g_installed{false};
std::atomic<bool> g_mask_filter{false};
std::atomic<unsigned long> g_trapped{0};

// The SIGSYS disposition from before ours, kernel layout: SIGSYS signals that are not our
// traps go there. Our handler stays installed for good: an rt_sigaction(SIGSYS) that would
// change it (libuv's, for a process.on('SIGSYS'), which tap's signal-exit makes, or its
// reset to SIG_DFL) is turned by the filter into a successful no-op. A trapped futex call
// that found another handler would return the syscall number as an unknown error, and
// glibc would abort. (The call cannot be trapped and emulated instead: libuv makes it with
// every signal blocked, and a trap with SIGSYS blocked kills the process.)
KernelSigaction g_prev;

void chain(int sig, siginfo_t* info, void* uc) {
  const KernelSigaction& prev = g_prev;
  const void* ign = reinterpret_cast<void*>(SIG_IGN);
  const void* dfl_handler = reinterpret_cast<void*>(SIG_DFL);
  if (prev.handler == ign) return;
  if (prev.handler != dfl_handler && prev.handler != nullptr) {
    if (prev.flags & SA_SIGINFO) reinterpret_cast<void (*)(int, siginfo_t*, void*)>(prev.handler)(sig, info, uc);
    else reinterpret_cast<void (*)(int)>(prev.handler)(sig);
    return;
  }
  // Nobody else wanted it: the default action (the process dies of SIGSYS, as it would
  // have). Raw calls: libc's would be trapped again.
  KernelSigaction dfl = {nullptr, 0, nullptr, 0};  // SIG_DFL
  zc::raw_syscall6(SYS_rt_sigaction, sig, reinterpret_cast<long>(&dfl), 0, 8, 0, 0);
  zc::raw_syscall6(SYS_tgkill, getpid(), zc::raw_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0), sig, 0, 0, 0);
}

}  // namespace

long futex_with_guard_keys_open(long uaddr, long op, long val, long timeout, long uaddr2, long val3) {
  const bool keys = keys_active();
  uint32_t pkru = 0;
  if (keys) {
    // A handler runs with the kernel's default PKRU, other threads with the engine's; the
    // kernel reads the futex word with this register's rights: open our two keys, and
    // nothing else, for the call.
    pkru = rdpkru();
    wrpkru(pkru & ~guard_key_bits());
  }
  long r = zc::raw_syscall6(SYS_futex, uaddr, op, val, timeout, uaddr2, val3);
  if (keys) wrpkru(pkru);
  if (r == -EFAULT && !keys) {
    // mprotect mode: the page itself is no-access, for the kernel too. If zcmpi made it so,
    // report a spurious wake after a short sleep: every futex caller re-checks its word
    // (in user space, where the access is stepped through) and waits again.
    const PageState* ps = page_lookup(static_cast<uintptr_t>(uaddr) & kPageMask);
    if (ps && page_is_guarded(*ps)) {
      struct timespec ts = {0, 20000};
      zc::raw_syscall6(SYS_nanosleep, reinterpret_cast<long>(&ts), 0, 0, 0, 0, 0);
      r = -EAGAIN;
    }
  }
  return r;
}

namespace {

void on_sigsys(int sig, siginfo_t* info, void* ucv) {
  if (info->si_code != SYS_SECCOMP || static_cast<uint32_t>(info->si_errno) != kTrapData) {
    chain(sig, info, ucv);
    return;
  }
  ucontext_t* uc = static_cast<ucontext_t*>(ucv);
  const int saved_errno = errno;
  if (info->si_syscall == SYS_rt_sigprocmask || info->si_syscall == SYS_rt_sigaction) {
    // The guard's signals stay deliverable (signal_mask_trap.h).
    if (info->si_syscall == SYS_rt_sigprocmask) emulate_rt_sigprocmask(uc);
    else emulate_rt_sigaction(uc);
    errno = saved_errno;
    return;
  }
  if (info->si_syscall != SYS_futex) {
    chain(sig, info, ucv);
    return;
  }
  greg_t* g = uc->uc_mcontext.gregs;
  const long r = futex_with_guard_keys_open(g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9]);
  g[REG_RAX] = r;
  g_trapped.fetch_add(1, std::memory_order_relaxed);
  errno = saved_errno;
}

using Range = AddressRange;

struct Segments {
  Range libc_text;
  Range data[8];  // writable segments of the executable, libc and ld.so: static futex words
  int ndata = 0;
};

// libc's executable segment (found by name: a function's address could be a PLT slot of
// the non-PIE node executable) and the writable segments of libc, ld.so and the executable.
int find_segments(struct dl_phdr_info* info, size_t, void* data) {
  Segments* seg = static_cast<Segments*>(data);
  const char* name = info->dlpi_name ? strrchr(info->dlpi_name, '/') : nullptr;
  name = name ? name + 1 : info->dlpi_name;
  const bool exe = !info->dlpi_name || info->dlpi_name[0] == '\0';
  const bool libc = name && strncmp(name, "libc.so", 7) == 0;
  const bool rtld = name && strncmp(name, "ld-linux", 8) == 0;  // glibc's stack-cache lock lives here
  if (!exe && !libc && !rtld) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    const Range r = {info->dlpi_addr + ph.p_vaddr, info->dlpi_addr + ph.p_vaddr + ph.p_memsz};
    if (libc && (ph.p_flags & PF_X) && seg->libc_text.end == 0) seg->libc_text = r;
    if ((ph.p_flags & PF_W) && seg->ndata < 8) seg->data[seg->ndata++] = r;
  }
  return 0;
}

bool aslr_off() {
  const int pers = personality(0xffffffff);
  if (pers != -1 && (pers & ADDR_NO_RANDOMIZE)) return true;
  FILE* f = fopen("/proc/sys/kernel/randomize_va_space", "r");
  if (!f) return false;
  int v = 1;
  if (fscanf(f, "%d", &v) != 1) v = 1;
  fclose(f);
  return v == 0;
}

// The second filter (signal_mask_trap.h): libc's rt_sigprocmask(SIG_BLOCK or SIG_SETMASK,
// set != NULL) and rt_sigaction(sig != SIGSYS, act != NULL) are trapped and made without
// the guard signals. Installed without TSYNC, on this thread only, and inherited by every
// thread it creates from now on. With TSYNC it would also reach a thread between its
// clone and glibc's start_thread, which still blocks every signal: its mask-restoring call
// would be trapped with SIGSYS blocked, and the kernel kills the process for that (seen in
// about 1 of 20 starts when the transport's threads were starting). A thread created here
// starts with SIGSYS deliverable, because its creator's block-all was made without it.
// ThreadSanitizer's and MemorySanitizer's runtimes block every signal with their own raw
// system calls around their background thread's creation and then call libc's
// pthread_create, whose trapped calls would arrive with SIGSYS blocked (seen: glibc's
// first pthread_create installing its SIGSETXID handler). Under them the filter stays off.
bool sanitizer_blocks_signals_raw() {
  return dlsym(RTLD_DEFAULT, "__tsan_init") != nullptr || dlsym(RTLD_DEFAULT, "__msan_init") != nullptr;
}

void install_signal_mask_filter(const Range& text) {
  if (sanitizer_blocks_signals_raw()) return;
  const uint32_t arg = offsetof(struct seccomp_data, args);
  FilterBuilder fb;
  using F = FilterBuilder;
  fb.only_libc_calls(text);
  // rt_sigaction(sig, act != NULL): trapped unless sig is SIGSYS (the first filter makes
  // that one a no-op); queries pass.
  fb.load(offsetof(struct seccomp_data, nr));
  fb.jump(BPF_JEQ, SYS_rt_sigaction, F::kNext, 6);
  fb.load(arg + 8);
  fb.jump(BPF_JEQ, 0, F::kNext, 2);
  fb.load(arg + 12);
  fb.jump(BPF_JEQ, 0, F::kAllow, F::kNext);
  fb.load(arg);
  fb.jump(BPF_JEQ, SIGSYS, F::kAllow, F::kTrap);
  // rt_sigprocmask(SIG_BLOCK or SIG_SETMASK, set != NULL): trapped; unblocking and queries
  // pass. (The accumulator still holds nr here.)
  fb.jump(BPF_JEQ, SYS_rt_sigprocmask, F::kNext, F::kAllow);
  fb.load(arg);
  fb.jump(BPF_JEQ, SIG_UNBLOCK, F::kAllow, F::kNext);
  fb.load(arg + 8);
  fb.jump(BPF_JEQ, 0, F::kNext, F::kTrap);
  fb.load(arg + 12);
  fb.jump(BPF_JEQ, 0, F::kAllow, F::kTrap);
  struct sock_filter f[40];
  size_t nf = 0;
  if (!fb.finish(kTrapData, f, 40, &nf)) return;
  struct sock_fprog prog = {static_cast<unsigned short>(nf), f};
  // no_new_privs (or CAP_SYS_ADMIN) is already in place for the first filter.
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return;
  g_mask_filter.store(true);
  // Handlers installed before (Node's, libuv's, with a full mask) run with the guard
  // signals deliverable from now on, like every handler installed later.
  clean_installed_handler_masks();
}

}  // namespace

bool signal_mask_filter_installed() { return g_mask_filter.load(); }

unsigned long futex_calls_trapped() { return g_trapped.load(std::memory_order_relaxed); }

bool install_futex_trap(char* why, size_t whylen) {
  if (g_installed.load()) return true;
  Segments seg;
  dl_iterate_phdr(find_segments, &seg);
  const Range text = seg.libc_text;
  if (text.end == 0) {
    snprintf(why, whylen, "libc's executable segment not found");
    return false;
  }
  if (((text.end - 1) >> 32) - (text.start >> 32) > 1) {
    snprintf(why, whylen, "libc's text spans more than 4 GiB");
    return false;
  }
  // The filter is inherited by every program this process executes; it matches libc's
  // address range here, which a child's own libc shares only without address-space
  // randomisation. Without it, a child's futex waits would be trapped with no handler.
  if (aslr_off()) {
    snprintf(why, whylen, "address-space randomisation is off (a child's libc would match the filter)");
    return false;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigsys;
  // SA_NODEFER: SIGSYS stays deliverable while the handler runs (it sleeps in redone futex
  // waits), so a trapped call made by a handler that interrupts it cannot kill the process.
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  struct sigaction prev;
  if (sigaction(SIGSYS, &sa, &prev) != 0) {
    snprintf(why, whylen, "sigaction(SIGSYS): %s", strerror(errno));
    return false;
  }
  unsigned long prev_mask = 0;
  memcpy(&prev_mask, &prev.sa_mask, sizeof prev_mask);
  g_prev = {(prev.sa_flags & SA_SIGINFO) ? reinterpret_cast<void*>(prev.sa_sigaction) : reinterpret_cast<void*>(prev.sa_handler),
                  static_cast<unsigned long>(prev.sa_flags), reinterpret_cast<void*>(prev.sa_restorer), prev_mask};

  const uint32_t addr = offsetof(struct seccomp_data, args);     // args[0]: the futex word
  const uint32_t op = offsetof(struct seccomp_data, args) + 8;   // args[1], low word
  // Trap a futex call from libc's text, unless it is a private wake (never reads user
  // memory) or its word is static data of libc, ld.so or the executable (never on a guarded
  // page; where glibc or Node wait with every signal blocked, a trap would kill the
  // process: a thread exiting takes the stack-cache lock in ld.so's _rtld_global, Node's
  // inspector thread waits on a static semaphore).
  // Allow everything else. Jumps over a range check skip its remaining instructions.
  FilterBuilder fb;
  using F = FilterBuilder;
  fb.only_libc_calls(text);
  // rt_sigaction(SIGSYS, act != NULL, ...): a successful no-op (see g_prev); queries pass.
  fb.load(offsetof(struct seccomp_data, nr));
  fb.jump(BPF_JEQ, SYS_rt_sigaction, F::kNext, 6);
  fb.load(addr);
  fb.jump(BPF_JEQ, SIGSYS, F::kNext, F::kAllow);
  fb.load(addr + 8);
  fb.jump(BPF_JEQ, 0, F::kNext, F::kIgnore);
  fb.load(addr + 12);
  fb.jump(BPF_JEQ, 0, F::kAllow, F::kIgnore);
  fb.jump(BPF_JEQ, SYS_futex, F::kNext, F::kAllow);
  for (int i = 0; i < seg.ndata; i++) {
    const Range& d = seg.data[i];
    if ((d.start >> 32) != ((d.end - 1) >> 32)) continue;
    fb.load(addr + 4);
    fb.jump(BPF_JEQ, static_cast<uint32_t>(d.start >> 32), F::kNext, 3);
    fb.load(addr);
    fb.jump(BPF_JGE, static_cast<uint32_t>(d.start), F::kNext, 1);
    fb.jump(BPF_JGE, static_cast<uint32_t>(d.end), F::kNext, F::kAllow);
  }
  fb.load(op);
  fb.jump(BPF_JSET, FUTEX_PRIVATE_FLAG, F::kNext, F::kTrap);
  fb.alu_and(static_cast<uint32_t>(FUTEX_CMD_MASK));
  fb.jump(BPF_JEQ, FUTEX_WAKE, F::kAllow, F::kNext);
  fb.jump(BPF_JEQ, FUTEX_WAKE_BITSET, F::kAllow, F::kTrap);
  struct sock_filter f[80];
  size_t nf = 0;
  if (!fb.finish(kTrapData, f, 80, &nf)) {
    snprintf(why, whylen, "seccomp filter too long");
    sigaction(SIGSYS, &prev, nullptr);
    return false;
  }
  struct sock_fprog prog = {static_cast<unsigned short>(nf), f};
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
  if (r != 0 && errno == EACCES) {
    // Without CAP_SYS_ADMIN a filter needs no_new_privs (inherited by children).
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
      r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
  }
  if (r != 0) {
    if (r > 0) snprintf(why, whylen, "seccomp: thread %ld could not take the filter", r);
    else snprintf(why, whylen, "seccomp: %s", strerror(errno));
    sigaction(SIGSYS, &prev, nullptr);
    return false;
  }
  g_installed.store(true);
  install_signal_mask_filter(text);
  return true;
}

}  // namespace zc::guard
