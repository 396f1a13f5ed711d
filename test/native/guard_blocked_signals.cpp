// Code that blocks every signal and then touches memory on a guarded page keeps working
// (native/guard/signal_mask_trap.h): a synchronous SIGSEGV that arrives blocked makes the
// kernel kill the process without running any handler.
// Usage: guard_blocked_signals <case>; exit 0 when the case worked. Cases:
//   mask          pthread_sigmask keeps its meaning for every other signal (SIG_BLOCK,
//                 SIG_SETMASK, SIG_UNBLOCK, the old mask, a blocked signal stays pending,
//                 a bad `how` is EINVAL) and never blocks SIGSEGV, SIGTRAP or SIGSYS
//   collateral    with every signal blocked, reads and writes of bytes that only share a
//                 page with an inbound guard go through
//   conflict      with every signal blocked, a read of the guarded bytes waits for the
//                 release and sees what the device wrote
//   handler       a handler installed after init with a full mask, and one installed before
//                 init with a full mask, touch those bytes from inside the handler
//   thread        a thread created while every signal is blocked (as Node creates its
//                 inspector watchdog) touches them
//   starting      another thread keeps creating threads while init installs the filters:
//                 none of them dies (a thread between clone and glibc's start_thread
//                 blocks every signal, SIGSYS included, and must not be trapped there)
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "guard/guard.h"
#include "guard/signal_mask_trap.h"
#include "memory/arena.h"

using namespace std::chrono_literals;

namespace {

unsigned char* g_page = nullptr;  // second half guarded (inbound); first half collateral
volatile sig_atomic_t g_handler_ok = 0;

int fail(const char* what) {
  fprintf(stderr, "FAILED: %s\n", what);
  return 1;
}

bool blocked(int sig) {
  sigset_t cur;
  pthread_sigmask(SIG_BLOCK, nullptr, &cur);
  return sigismember(&cur, sig) == 1;
}

void block_everything(sigset_t* old) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, old);
}

void touch_collateral() {
  for (int i = 0; i < 64; i++) g_page[100 + i] = static_cast<unsigned char>(g_page[100 + i] + 1);
}

void on_usr(int) {
  touch_collateral();
  g_handler_ok = 1;
}

int case_mask() {
  sigset_t old, cur, one;
  sigemptyset(&one);
  sigaddset(&one, SIGUSR2);
  if (pthread_sigmask(SIG_BLOCK, &one, &old) != 0) return fail("SIG_BLOCK");
  if (sigismember(&old, SIGUSR2)) return fail("the old mask already had SIGUSR2");
  if (!blocked(SIGUSR2)) return fail("SIG_BLOCK did not block SIGUSR2");
  raise(SIGUSR2);  // stays pending while blocked
  sigset_t pend;
  sigpending(&pend);
  if (!sigismember(&pend, SIGUSR2)) return fail("a blocked SIGUSR2 is not pending");
  sigset_t all;
  sigfillset(&all);
  if (pthread_sigmask(SIG_SETMASK, &all, &cur) != 0) return fail("SIG_SETMASK");
  if (!sigismember(&cur, SIGUSR2)) return fail("the old mask lost SIGUSR2");
  for (int sig : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGCHLD, SIGALRM, SIGRTMIN + 3})
    if (!blocked(sig)) return fail("SIG_SETMASK(all) left a signal unblocked");
  for (int sig : {SIGSEGV, SIGTRAP, SIGSYS})
    if (blocked(sig)) return fail("a guard signal is blocked");
  // The pending SIGUSR2 is delivered once unblocked (to a handler: its default action
  // would end the process).
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = [](int) { g_handler_ok = 2; };
  sigfillset(&sa.sa_mask);
  sigaction(SIGUSR2, &sa, nullptr);
  if (g_handler_ok != 0) return fail("SIGUSR2 delivered while blocked");
  if (pthread_sigmask(SIG_UNBLOCK, &one, nullptr) != 0) return fail("SIG_UNBLOCK");
  if (g_handler_ok != 2) return fail("the pending SIGUSR2 was not delivered on unblock");
  struct sigaction back;
  sigaction(SIGUSR2, nullptr, &back);
  if (!sigismember(&back.sa_mask, SIGINT) || sigismember(&back.sa_mask, SIGSEGV))
    return fail("a handler's mask: others kept, SIGSEGV removed");
  if (syscall(SYS_rt_sigprocmask, 7, &all, nullptr, 8) != -1 || errno != EINVAL) return fail("a bad how is not EINVAL");
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (blocked(SIGUSR2) || blocked(SIGINT)) return fail("restoring the old mask");
  printf("mask: ok\n");
  return 0;
}

int case_collateral() {
  sigset_t old;
  block_everything(&old);
  touch_collateral();
  const int v = g_page[100];
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  printf("collateral: ok (%d)\n", v);
  return 0;
}

int case_conflict(zc::guard::GuardId id) {
  std::thread device([id] {
    std::this_thread::sleep_for(200ms);
    unsigned char fill[2048];
    memset(fill, 9, sizeof fill);
    zc::memory::write_through(g_page + 2048, fill, sizeof fill);
    zc::guard::release(id);
  });
  sigset_t old;
  block_everything(&old);
  const auto t0 = std::chrono::steady_clock::now();
  const int v = g_page[3000];  // the guarded bytes: waits for the release
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  device.join();
  if (v != 9) return fail("the early read did not see the device's bytes");
  printf("conflict: ok (waited %lld ms)\n", static_cast<long long>(waited));
  return 0;
}

int case_handler() {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr;
  sigfillset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);  // after init
  g_handler_ok = 0;
  raise(SIGUSR1);
  if (!g_handler_ok) return fail("SIGUSR1 handler (installed after init)");
  g_handler_ok = 0;
  raise(SIGUSR2);  // installed before init
  if (!g_handler_ok) return fail("SIGUSR2 handler (installed before init)");
  printf("handler: ok\n");
  return 0;
}

int case_thread() {
  sigset_t old;
  block_everything(&old);
  std::atomic<bool> ok{false};
  std::thread t([&] {
    touch_collateral();
    ok.store(!blocked(SIGSEGV) && blocked(SIGINT));
  });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  t.join();
  if (!ok.load()) return fail("the thread's mask: SIGINT blocked, SIGSEGV not");
  printf("thread: ok\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string what = argv[1];
  alarm(60);
  if (what == "handler") {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr;
    sigfillset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, nullptr);  // before init: cleaned when the filter goes in
  }
  std::atomic<bool> stop{false};
  std::atomic<long> started{0};
  std::thread creator;
  if (what == "starting") {
    creator = std::thread([&] {
      while (!stop.load()) {
        std::thread([&] { started.fetch_add(1); }).join();
      }
    });
    while (started.load() < 50) std::this_thread::yield();
  }
  char err[256];
  if (!zc::guard::init(zc::guard::Mode::Block, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 4; }
  printf("mechanism: %s\n", zc::guard::protection_mechanism());
  g_page = static_cast<unsigned char*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  zc::guard::RequestInfo info;
  bool failed = false;
  zc::guard::GuardId id = zc::guard::acquire(g_page + 2048, 2048, zc::guard::Direction::Inbound, info, nullptr, &failed, err, sizeof err);
  if (failed) { fprintf(stderr, "acquire: %s\n", err); return 4; }
  int rc = 2;
  if (what == "starting") {
    const long at_init = started.load();
    while (started.load() < at_init + 2000) std::this_thread::yield();
    stop.store(true);
    creator.join();
    printf("starting: ok (%ld threads, %ld after init)\n", started.load(), started.load() - at_init);
    rc = 0;
  } else if (what == "mask") rc = case_mask();
  else if (what == "collateral") rc = case_collateral();
  else if (what == "conflict") return case_conflict(id);
  else if (what == "handler") rc = case_handler();
  else if (what == "thread") rc = case_thread();
  zc::guard::release(id);
  printf("mask calls made by the trap: %lu\n", zc::guard::signal_mask_calls_trapped());
  return rc;
}
