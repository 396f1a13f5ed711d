// Two threads releasing the same guard at the same moment (finalize's release_all racing a
// transport completion, or a completion and a cancel) must release it once. Each round:
// acquire a receive guard, release it from two threads at once, then acquire two new
// receive guards on the page: they must get distinct ids and the page must be no-access.
// Usage: guard_double_release [rounds=2000]. Exit 0 when every round was right.
#include <sys/mman.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "guard/guard.h"

static std::string perms_of(const void* p) {
  FILE* f = fopen("/proc/self/maps", "r");
  char line[512];
  std::string out = "?";
  unsigned long a, b;
  char perms[8];
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3 && reinterpret_cast<unsigned long>(p) >= a && reinterpret_cast<unsigned long>(p) < b) out = perms;
  if (f) fclose(f);
  return out;
}

// The page's protection key (smaps), 0 when none: with protection keys a receive guard
// keeps the page's own permissions and denies access through its key.
static int pkey_of(const void* p) {
  FILE* f = fopen("/proc/self/smaps", "r");
  char line[512];
  unsigned long a, b;
  bool in = false;
  int key = 0;
  while (f && fgets(line, sizeof line, f)) {
    if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      in = reinterpret_cast<unsigned long>(p) >= a && reinterpret_cast<unsigned long>(p) < b;
    } else if (in && sscanf(line, "ProtectionKey: %d", &key) == 1) {
      break;
    }
  }
  if (f) fclose(f);
  return in ? key : 0;
}

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? atoi(argv[1]) : 2000;
  char err[256];
  if (!zc::guard::init(zc::guard::Mode::Block, err, sizeof err)) return 4;
  auto* page = static_cast<unsigned char*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  zc::guard::RequestInfo ri;
  bool failed = false;
  int shared_ids = 0, unprotected = 0;
  for (int r = 0; r < rounds; r++) {
    zc::guard::GuardId id = zc::guard::acquire(page, 100, zc::guard::Direction::Inbound, ri, nullptr, &failed, err, sizeof err);
    std::atomic<int> go{0};
    std::thread a([&] { while (!go.load()) {} zc::guard::release(id); });
    std::thread b([&] { while (!go.load()) {} zc::guard::release(id); });
    go.store(1);
    a.join();
    b.join();
    zc::guard::GuardId x = zc::guard::acquire(page, 100, zc::guard::Direction::Inbound, ri, nullptr, &failed, err, sizeof err);
    zc::guard::GuardId y = zc::guard::acquire(page + 200, 100, zc::guard::Direction::Inbound, ri, nullptr, &failed, err, sizeof err);
    if (x == y) shared_ids++;
    if (perms_of(page) != "---p" && pkey_of(page) == 0) unprotected++;
    zc::guard::release(x);
    if (y != x) zc::guard::release(y);
    zc::guard::release_all();  // start the next round from a clean table
  }
  printf("guard_double_release: %d rounds; two live guards given the same id in %d; page not protected in %d\n",
         rounds, shared_ids, unprotected);
  return shared_ids == 0 && unprotected == 0 ? 0 : 1;
}
