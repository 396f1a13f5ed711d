// Truly read-only memory stays read-only under guards: an outbound guard may cover it,
// an inbound one is refused, neighbour writes are not single-stepped through, a write to
// the guarded bytes waits and then still faults, and release restores PROT_READ (not
// read-write). Usage: guard_readonly <case>; cases:
//   inbound-refused  exit 0 when acquire fails naming read-only memory
//   read-ok          exit 0 when reads under an outbound guard succeed
//   neighbour-write  must die of SIGSEGV (a write outside the guard on the same page)
//   guarded-write    must die of SIGSEGV after the release (~100 ms)
//   after-release    prints the page's protection from /proc/self/maps, then must die of SIGSEGV
//   remapped         a read-write page is guarded and released (the engine learns it), then
//                    unmapped and mapped read-only at the same address; a send guard on it
//                    and its release must leave it read-only: exit 0 when r--p
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "guard/guard.h"

static std::string perms_of(const void* p) {
  FILE* f = fopen("/proc/self/maps", "r");
  char line[512];
  std::string out = "unmapped";
  unsigned long a, b;
  char perms[8];
  while (f && fgets(line, sizeof line, f)) {
    if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3 && reinterpret_cast<unsigned long>(p) >= a &&
        reinterpret_cast<unsigned long>(p) < b) out = perms;
  }
  if (f) fclose(f);
  return out;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string what = argv[1];
  alarm(10);
  char err[256];
  if (!zc::guard::init(zc::guard::Mode::Block, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 4; }
  auto* page = static_cast<unsigned char*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (what == "remapped") {
    zc::guard::RequestInfo ri;
    bool f = false;
    zc::guard::GuardId g = zc::guard::acquire(page, 64, zc::guard::Direction::Outbound, ri, nullptr, &f, err, sizeof err);
    zc::guard::release(g);
    munmap(page, 4096);
    void* again = mmap(page, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (again != page) return 4;
    printf("remapped read-only: %s\n", perms_of(page).c_str());
    g = zc::guard::acquire(page, 64, zc::guard::Direction::Outbound, ri, nullptr, &f, err, sizeof err);
    if (f) { printf("acquire failed: %s\n", err); return 1; }
    zc::guard::release(g);
    printf("after guard and release: %s\n", perms_of(page).c_str());
    return perms_of(page) == "r--p" ? 0 : 1;
  }
  memset(page, 0x42, 4096);
  mprotect(page, 4096, PROT_READ);
  zc::guard::RequestInfo info;
  bool failed = false;
  if (what == "inbound-refused") {
    zc::guard::GuardId id = zc::guard::acquire(page + 100, 100, zc::guard::Direction::Inbound, info, nullptr, &failed, err, sizeof err);
    printf("acquire inbound: id %d, failed %d: %s\n", id, failed, err);
    return failed && strstr(err, "read-only") ? 0 : 1;
  }
  zc::guard::GuardId id = zc::guard::acquire(page + 100, 100, zc::guard::Direction::Outbound, info, nullptr, &failed, err, sizeof err);
  if (failed) { fprintf(stderr, "acquire outbound: %s\n", err); return 4; }
  volatile unsigned char* p = page;
  if (what == "read-ok") {
    int sum = 0;
    for (int i = 0; i < 4096; i += 64) sum += p[i];
    zc::guard::release(id);
    printf("read %d; after release the page is %s\n", sum, perms_of(page).c_str());
    return sum == 64 * 0x42 && perms_of(page) == "r--p" ? 0 : 1;
  }
  if (what == "neighbour-write") {
    printf("writing a neighbour byte\n");
    fflush(stdout);
    p[3000] = 1;
  } else if (what == "guarded-write") {
    std::thread([id] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      zc::guard::release(id);
    }).detach();
    printf("writing a guarded byte\n");
    fflush(stdout);
    p[150] = 1;
  } else if (what == "after-release") {
    zc::guard::release(id);
    printf("after release the page is %s\n", perms_of(page).c_str());
    fflush(stdout);
    p[150] = 1;
  } else {
    return 2;
  }
  printf("the write to read-only memory succeeded\n");
  return 3;
}
