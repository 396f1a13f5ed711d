// The seccomp prologue both guard filters start with (native/guard/seccomp_filter.h): a
// system call is the filter's business only when it is made from libc's text. The test
// places stand-in "text" anywhere in the address space, across a 4 GiB boundary, ending
// at one, starting at one, installs a filter that traps getppid from that text only
// (in a child per case: filters cannot be removed), and calls getppid from small stubs
// mapped inside, just inside both ends, and just outside. The SIGSYS handler makes the
// trapped call return a sentinel, so each probe's return value says whether it was trapped.
// Prints one line per check and `all ok`.
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "guard/seccomp_filter.h"

using zc::guard::AddressRange;
using zc::guard::FilterBuilder;

namespace {

constexpr long kTrapped = -4242;
constexpr uintptr_t G4 = uintptr_t{1} << 32;
constexpr uintptr_t kPage = 4096;

void on_sigsys(int, siginfo_t*, void* ctx) {
  static_cast<ucontext_t*>(ctx)->uc_mcontext.gregs[REG_RAX] = kTrapped;
}

// mov eax, SYS_getppid; syscall; ret (the instruction pointer seccomp sees is stub + 7).
const unsigned char kStub[] = {0xb8, SYS_getppid, 0, 0, 0, 0x0f, 0x05, 0xc3};

struct Probe {
  const char* where;
  uintptr_t ip;       // the address after the syscall instruction
  bool inside;        // in [start, end): must be trapped
};

// Maps the pages holding every probe's stub (they must be free), writes the stubs.
bool place(const std::vector<Probe>& probes) {
  std::vector<uintptr_t> mine;
  for (const Probe& p : probes) {
    const uintptr_t stub = p.ip - 7;
    const uintptr_t page = stub & ~(kPage - 1), last = (stub + sizeof kStub - 1) & ~(kPage - 1);
    for (uintptr_t a = page; a <= last; a += kPage) {
      if (std::find(mine.begin(), mine.end(), a) != mine.end()) continue;
      void* m = mmap(reinterpret_cast<void*>(a), kPage, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (m != reinterpret_cast<void*>(a)) return false;  // taken (or an old kernel took it as a hint)
      mine.push_back(a);
    }
    std::memcpy(reinterpret_cast<void*>(stub), kStub, sizeof kStub);
  }
  return true;
}

// One case in a child: 0 all probes right, 1 a probe wrong (printed), 2 could not set up.
int run_case(const char* name, AddressRange text, const std::vector<Probe>& probes) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (!place(probes)) { printf("skipped: %s (the addresses are taken in this process)\n", name); fflush(stdout); _exit(2); }
    struct sigaction sa {};
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, nullptr);
    FilterBuilder fb;
    fb.only_libc_calls(text);
    fb.load(offsetof(struct seccomp_data, nr));
    fb.jump(BPF_JEQ, SYS_getppid, FilterBuilder::kTrap, FilterBuilder::kAllow);
    struct sock_filter f[40];
    size_t n = 0;
    if (!fb.finish(0, f, 40, &n)) _exit(2);
    struct sock_fprog prog = {static_cast<unsigned short>(n), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
      printf("FAILED: %s: the filter was refused: %s\n", name, strerror(errno));
      fflush(stdout);
      _exit(1);
    }
    int bad = 0;
    for (const Probe& p : probes) {
      const long r = reinterpret_cast<long (*)()>(p.ip - 7)();
      const bool trapped = r == kTrapped;
      if (trapped != p.inside) {
        printf("FAILED: %s: getppid from %s (%#lx) was %s\n", name, p.where, static_cast<unsigned long>(p.ip),
               trapped ? "trapped" : "let through");
        bad++;
      }
    }
    // The test's own calls come from its libc, outside the stand-in text.
    if (syscall(SYS_getppid) == kTrapped) { printf("FAILED: %s: a call from the real libc was trapped\n", name); bad++; }
    fflush(stdout);  // _exit does not flush, and stdout is a pipe under the test runner
    _exit(bad ? 1 : 0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  if (WIFSIGNALED(st)) { printf("FAILED: %s: the child died of signal %d\n", name, WTERMSIG(st)); return 1; }
  const int code = WEXITSTATUS(st);
  if (code == 0) printf("ok: %s: %zu probes\n", name, probes.size());
  return code;
}

// The usual probes of text [s, e): inside at both ends, outside right below and right above.
std::vector<Probe> around(uintptr_t s, uintptr_t e) {
  return {{"the first bytes", s + 7, true},  {"the last bytes", e - 1, true},
          {"just below", s - 1, false},       {"just above", e + 7, false},
          {"far below", s - 64 * kPage, false}, {"far above", e + 64 * kPage + 7, false}};
}

}  // namespace

int main() {
  int failed = 0, skipped = 0;
  auto count = [&](int r) { failed += r == 1; skipped += r == 2; };
  // Across a boundary: both halves inside, and the same low words in the wrong half outside.
  {
    const uintptr_t s = 5 * G4 - 8 * kPage, e = 5 * G4 + 8 * kPage;
    std::vector<Probe> p = around(s, e);
    p.push_back({"the last bytes below the boundary", 5 * G4 - 1, true});
    p.push_back({"the first bytes above it", 5 * G4 + 7, true});
    p.push_back({"the start's low word, one half up", s + G4 + 7, false});
    p.push_back({"the end's low word, one half down", e - G4 - 1, false});
    count(run_case("text across a 4 GiB boundary", {s, e}, p));
  }
  // Within one half.
  {
    const uintptr_t s = 6 * G4 + 0x123000, e = s + 16 * kPage;
    std::vector<Probe> p = around(s, e);
    p.push_back({"the same low word, one half up", s + G4 + 7, false});
    count(run_case("text within one 4 GiB half", {s, e}, p));
  }
  // Ending exactly at a boundary (the end's low word is 0).
  {
    const uintptr_t s = 8 * G4 - 16 * kPage, e = 8 * G4;
    count(run_case("text ending at a 4 GiB boundary", {s, e}, around(s, e)));
  }
  // Starting exactly at one (the start's low word is 0).
  {
    const uintptr_t s = 9 * G4, e = s + 16 * kPage;
    count(run_case("text starting at a 4 GiB boundary", {s, e}, around(s, e)));
  }
  if (failed) return 1;
  if (skipped == 4) { printf("FAILED: no case could be placed\n"); return 1; }
  printf("all ok\n");
  return 0;
}
