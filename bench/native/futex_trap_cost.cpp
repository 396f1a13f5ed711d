// What the futex trap (native/guard/futex_trap.cpp) costs a condition-variable handoff:
// two threads pass a turn back and forth 20000 times, without guards (no filter) and
// after a guarded init (every libc futex wait trapped and redone). Run by
// bench/futex-trap-cost.ts.
#include <pthread.h>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include "guard/guard.h"
#include "guard/futex_trap.h"
int main(int argc, char** argv) {
  bool trap = argc > 1 && strcmp(argv[1], "trap") == 0;
  char err[256];
  if (trap) zc::guard::init(zc::guard::Mode::Block, err, sizeof err);
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER; pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  int turn = 0; const int N = 20000;
  std::thread other([&]{ for (int i=0;i<N;i++){ pthread_mutex_lock(&m); while(turn!=1) pthread_cond_wait(&c,&m); turn=0; pthread_cond_signal(&c); pthread_mutex_unlock(&m);} });
  auto t0 = std::chrono::steady_clock::now();
  for (int i=0;i<N;i++){ pthread_mutex_lock(&m); turn=1; pthread_cond_signal(&c); while(turn!=0) pthread_cond_wait(&c,&m); pthread_mutex_unlock(&m);}
  other.join();
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now()-t0).count();
  printf("%s: %.2f us per round trip (two condvar waits), trapped %lu\n", trap?"trap":"no trap", us/N, zc::guard::futex_calls_trapped());
}
