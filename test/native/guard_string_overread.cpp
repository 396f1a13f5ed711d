// libc's scanning string functions read a vector past a string's end; when the string sits
// right before an in-flight receive, that over-read must go through as collateral instead
// of waiting for the transfer (native/guard/scanning_functions.h). Real reads of guarded
// bytes still wait: a memcpy that runs into the guard, and strnlen of a string inside it.
// Usage: guard_string_overread; exit 0 when every check held. Each guard is released by a
// device thread after 300 ms, so an access that waited took at least that long.
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "guard/guard.h"
#include "guard/scanning_functions.h"
#include "memory/arena.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Called through volatile pointers, so the compiler cannot inline or fold them.
size_t (*volatile p_strlen)(const char*) = strlen;
size_t (*volatile p_strnlen)(const char*, size_t) = strnlen;
const char* (*volatile p_strchr)(const char*, int) = strchr;
const void* (*volatile p_memchr)(const void*, int, size_t) = memchr;
int (*volatile p_strcmp)(const char*, const char*) = strcmp;
void* (*volatile p_memcpy)(void*, const void*, size_t) = memcpy;

int failures = 0;

void check(bool ok, const char* what) {
  printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  if (!ok) failures++;
}

// Guards [page+2008, page+4096) inbound, released by a "device" 300 ms later after it wrote
// `fill` there; runs fn and returns how long it took in ms.
template <typename F>
long guarded(unsigned char* page, unsigned char fill, F fn) {
  zc::guard::RequestInfo info;
  bool failed = false;
  char err[256];
  const zc::guard::GuardId id = zc::guard::acquire(page + 2008, 4096 - 2008, zc::guard::Direction::Inbound, info, nullptr, &failed, err, sizeof err);
  if (failed) { fprintf(stderr, "acquire: %s\n", err); return -1; }
  std::thread device([=] {
    std::this_thread::sleep_for(300ms);
    unsigned char bytes[4096 - 2008];
    memset(bytes, fill, sizeof bytes);
    zc::memory::write_through(page + 2008, bytes, sizeof bytes);
    zc::guard::release(id);
  });
  const auto t0 = Clock::now();
  fn();
  const long ms = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
  device.join();
  return ms;
}

}  // namespace

int main() {
  alarm(60);
  char err[256];
  if (!zc::guard::init(zc::guard::Mode::Block, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 4; }
  printf("mechanism: %s; scanning functions known: %d\n", zc::guard::protection_mechanism(), zc::guard::scanning_functions_known());
  check(zc::guard::scanning_functions_known() >= 8, "the unwind tables gave the scanning functions' ranges");
  auto* page = static_cast<unsigned char*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  char* s = reinterpret_cast<char*>(page + 2000);  // "abcd": its terminator 4 bytes before the guard
  memcpy(s, "abcd", 5);

  size_t n = 0;
  long ms = guarded(page, 1, [&] { n = p_strlen(s); });
  check(n == 4 && ms < 150, "strlen of a string just before the guard returns at once");
  const char* c = nullptr;
  ms = guarded(page, 2, [&] { c = p_strchr(s, 'd'); });
  check(c == s + 3 && ms < 150, "strchr the same");
  const void* m = nullptr;
  ms = guarded(page, 3, [&] { m = p_memchr(s, 'c', 5); });
  check(m == s + 2 && ms < 150, "memchr the same");
  int cmp = 1;
  ms = guarded(page, 4, [&] { cmp = p_strcmp(s, "abcd"); });
  check(cmp == 0 && ms < 150, "strcmp the same");

  unsigned char copy[64];
  ms = guarded(page, 5, [&] { p_memcpy(copy, page + 1990, 40); });  // bytes 1990..2029: 22 in flight
  check(ms >= 250 && copy[30] == 5, "a memcpy that runs into the guard waits and copies the received bytes");
  const char* inside = reinterpret_cast<const char*>(page + 3000);
  ms = guarded(page, 'y', [&] { n = p_strnlen(inside, 16); });  // the device writes no terminator: bounded
  check(ms >= 250 && n == 16 && inside[0] == 'y', "strnlen of a string inside the guard waits and reads the received bytes");
  printf("%s\n", failures ? "FAILED" : "all ok");
  return failures ? 1 : 0;
}
