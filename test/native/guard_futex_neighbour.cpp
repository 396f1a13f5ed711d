// A lock or condition variable that only shares a page with an in-flight buffer keeps
// working: its futex waits are made by the kernel, which honours the guard's protection
// (EFAULT, and glibc aborts), so futex_trap.cpp redoes them with the guard keys open.
// Usage: guard_futex_neighbour <case> [rounds]; exit 0 when every round worked. Cases:
//   mutex      main thread and a thread started after init contend a mutex on the page
//              of an inbound guard (the thread holding it sleeps, the other must wait)
//   condvar    a thread waits on a condition variable on that page, main signals it
//   outbound   the mutex case under an outbound guard
//   early-thread  the mutex case with a thread started before init (kernel default PKRU)
//   exec       after init, a child is executed (this program, case child-threads) whose own
//              threads contend a mutex: the inherited filter must leave it alone
//   child-threads  (the child's side)
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <thread>

#include "guard/futex_trap.h"
#include "guard/guard.h"

using namespace std::chrono_literals;

namespace {

struct Shared {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int flag;
};

int contend(Shared* s, int rounds) {
  // Each round: the other thread takes the lock and holds it while this one blocks on it.
  std::atomic<int> phase{0};
  std::thread other([&] {
    for (int i = 0; i < rounds; i++) {
      while (phase.load() != 2 * i + 1) std::this_thread::yield();
      pthread_mutex_lock(&s->mutex);
      phase.store(2 * i + 2);
      std::this_thread::sleep_for(2ms);
      s->flag++;
      pthread_mutex_unlock(&s->mutex);
    }
  });
  for (int i = 0; i < rounds; i++) {
    phase.store(2 * i + 1);
    while (phase.load() != 2 * i + 2) std::this_thread::yield();
    pthread_mutex_lock(&s->mutex);  // held by the other thread: a futex wait
    s->flag++;
    pthread_mutex_unlock(&s->mutex);
  }
  other.join();
  return s->flag == 2 * rounds ? 0 : 1;
}

int child_threads() {
  Shared* s = new Shared;
  pthread_mutex_init(&s->mutex, nullptr);
  s->flag = 0;
  return contend(s, 50);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string what = argv[1];
  const int rounds = argc > 2 ? atoi(argv[2]) : 200;
  alarm(60);
  if (what == "child-threads") return child_threads();

  // An early thread: started before init, it has the kernel's default PKRU.
  std::atomic<Shared*> early_target{nullptr};
  std::atomic<int> early_done{-1};
  std::thread early;
  if (what == "early-thread") {
    early = std::thread([&] {
      while (!early_target.load()) std::this_thread::sleep_for(1ms);
      Shared* s = early_target.load();
      for (int i = 0; i < rounds; i++) {
        pthread_mutex_lock(&s->mutex);
        s->flag++;
        pthread_mutex_unlock(&s->mutex);
      }
      early_done.store(0);
    });
  }

  char err[256];
  if (!zc::guard::init(zc::guard::Mode::Block, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 4; }
  printf("mechanism: %s\n", zc::guard::protection_mechanism());
  auto* page = static_cast<unsigned char*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  Shared* s = new (page) Shared;
  pthread_mutex_init(&s->mutex, nullptr);
  pthread_cond_init(&s->cond, nullptr);
  s->flag = 0;
  zc::guard::RequestInfo info;
  bool failed = false;
  const auto dir = what == "outbound" ? zc::guard::Direction::Outbound : zc::guard::Direction::Inbound;
  zc::guard::GuardId id = zc::guard::acquire(page + 2048, 2048, dir, info, nullptr, &failed, err, sizeof err);
  if (failed) { fprintf(stderr, "acquire: %s\n", err); return 4; }

  int rc = 1;
  if (what == "mutex" || what == "outbound") {
    rc = contend(s, rounds);
  } else if (what == "early-thread") {
    const auto t0 = std::chrono::steady_clock::now();
    early_target.store(s);
    for (int i = 0; i < rounds; i++) {
      pthread_mutex_lock(&s->mutex);
      s->flag++;
      std::this_thread::sleep_for(100us);  // hold it so the early thread must wait
      pthread_mutex_unlock(&s->mutex);
    }
    early.join();
    rc = early_done.load() == 0 && s->flag == 2 * rounds ? 0 : 1;
    printf("early thread: %d increments in %lld ms\n", s->flag,
           static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count()));
  } else if (what == "condvar") {
    int woken = 0;
    for (int i = 0; i < rounds / 10 + 1; i++) {
      std::atomic<bool> waiting{false};
      std::thread waiter([&] {
        pthread_mutex_lock(&s->mutex);
        waiting.store(true);
        while (s->flag == 0) pthread_cond_wait(&s->cond, &s->mutex);
        s->flag = 0;
        woken++;
        pthread_mutex_unlock(&s->mutex);
      });
      while (!waiting.load()) std::this_thread::yield();
      std::this_thread::sleep_for(2ms);
      pthread_mutex_lock(&s->mutex);
      s->flag = 1;
      pthread_cond_signal(&s->cond);
      pthread_mutex_unlock(&s->mutex);
      waiter.join();
    }
    rc = woken == rounds / 10 + 1 ? 0 : 1;
  } else if (what == "exec") {
    pid_t pid = fork();
    if (pid == 0) {
      execl("/proc/self/exe", argv[0], "child-threads", nullptr);
      _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("child: %s %d\n", WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    rc = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
  } else {
    return 2;
  }
  zc::guard::release(id);
  printf("%s: %s; futex calls redone %lu\n", what.c_str(), rc == 0 ? "ok" : "FAILED", zc::guard::futex_calls_trapped());
  return rc;
}
