#include "guard/signal_mask_trap.h"

#include <sys/syscall.h>
#include <sys/uio.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "guard/page_table.h"
#include "guard/raw_syscall.h"

namespace zc::guard {
namespace {

std::atomic<unsigned long> g_calls{0};

constexpr uint64_t kNeverBlocked = kGuardSignals | signal_bit(SIGKILL) | signal_bit(SIGSTOP);

bool touches_guarded_page(uintptr_t p, size_t n) {
  for (uintptr_t page = p & kPageMask; page < p + n; page += kPageSize) {
    const PageState* ps = page_lookup(page);
    if (ps && page_is_guarded(*ps)) return true;
  }
  return false;
}

// Copies n bytes between the program's memory at `program` and the handler's at `local`
// (into the program when `to_program`) as the kernel would for the real call: a bad pointer
// gives EFAULT rather than a crash. Bytes on a page the guard protects are accessed
// directly instead, so the access goes through the fault handler like any other access of
// the program (stepped through, or waiting for its transfer).
bool copy_program_bytes(void* program, void* local, size_t n, bool to_program) {
  if (touches_guarded_page(reinterpret_cast<uintptr_t>(program), n)) {
    if (to_program) memcpy(program, local, n);
    else memcpy(local, program, n);
    return true;
  }
  struct iovec mine = {local, n};
  struct iovec theirs = {program, n};
  const long pid = zc::raw_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0);
  return zc::raw_syscall6(to_program ? SYS_process_vm_writev : SYS_process_vm_readv, pid, reinterpret_cast<long>(&mine), 1,
                          reinterpret_cast<long>(&theirs), 1, 0) == static_cast<long>(n);
}

bool copy_from_program(void* dst, const void* src, size_t n) { return copy_program_bytes(const_cast<void*>(src), dst, n, false); }

bool copy_to_program(void* dst, const void* src, size_t n) { return copy_program_bytes(dst, const_cast<void*>(src), n, true); }

}  // namespace

void emulate_rt_sigprocmask(ucontext_t* uc) {
  greg_t* g = uc->uc_mcontext.gregs;
  g_calls.fetch_add(1, std::memory_order_relaxed);
  const long how = g[REG_RDI];
  const void* set = reinterpret_cast<const void*>(g[REG_RSI]);
  void* oset = reinterpret_cast<void*>(g[REG_RDX]);
  if (g[REG_R10] != static_cast<greg_t>(sizeof(uint64_t))) {
    g[REG_RAX] = -EINVAL;
    return;
  }
  // The frame holds the mask the thread had when it made the call; sigreturn restores it.
  uint64_t old = 0;
  memcpy(&old, &uc->uc_sigmask, sizeof old);
  uint64_t want = old;
  if (set) {
    uint64_t asked = 0;
    if (!copy_from_program(&asked, set, sizeof asked)) {
      g[REG_RAX] = -EFAULT;
      return;
    }
    switch (how) {
      case SIG_BLOCK: want = old | asked; break;
      case SIG_UNBLOCK: want = old & ~asked; break;
      case SIG_SETMASK: want = asked; break;
      default: g[REG_RAX] = -EINVAL; return;
    }
  }
  want &= ~kNeverBlocked;
  memcpy(&uc->uc_sigmask, &want, sizeof want);
  // As the kernel does: the mask is set before the old one is written back.
  g[REG_RAX] = oset && !copy_to_program(oset, &old, sizeof old) ? -EFAULT : 0;
}

void emulate_rt_sigaction(ucontext_t* uc) {
  greg_t* g = uc->uc_mcontext.gregs;
  g_calls.fetch_add(1, std::memory_order_relaxed);
  const long sig = g[REG_RDI];
  const void* act = reinterpret_cast<const void*>(g[REG_RSI]);
  void* oact = reinterpret_cast<void*>(g[REG_RDX]);
  KernelSigaction want{};
  if (act && !copy_from_program(&want, act, sizeof want)) {
    g[REG_RAX] = -EFAULT;
    return;
  }
  want.mask &= ~kGuardSignals;
  KernelSigaction old{};
  const long r = zc::raw_syscall6(SYS_rt_sigaction, sig, act ? reinterpret_cast<long>(&want) : 0,
                                  oact ? reinterpret_cast<long>(&old) : 0, g[REG_R10], 0, 0);
  if (r == 0 && oact && !copy_to_program(oact, &old, sizeof old)) {
    g[REG_RAX] = -EFAULT;
    return;
  }
  g[REG_RAX] = r;
}

void clean_installed_handler_masks() {
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    KernelSigaction cur{};
    if (zc::raw_syscall6(SYS_rt_sigaction, sig, 0, reinterpret_cast<long>(&cur), sizeof(uint64_t), 0, 0) != 0) continue;
    if (cur.handler == reinterpret_cast<void*>(SIG_DFL) || cur.handler == reinterpret_cast<void*>(SIG_IGN)) continue;
    if ((cur.mask & kGuardSignals) == 0) continue;
    cur.mask &= ~kGuardSignals;
    zc::raw_syscall6(SYS_rt_sigaction, sig, reinterpret_cast<long>(&cur), 0, sizeof(uint64_t), 0, 0);
  }
}

unsigned long signal_mask_calls_trapped() { return g_calls.load(std::memory_order_relaxed); }

}  // namespace zc::guard
