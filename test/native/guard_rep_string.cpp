// `rep stos` and `rep movs` over collateral bytes of a guarded page are carried out by the
// fault handler (native/guard/rep_string_emulation.h): one fault per instruction, not one
// fault and one trap per byte. Iterations that reach guarded bytes still wait for the
// release and then see (or overwrite) exactly what a blocking receive would have left.
// Also: an AVX-512 masked store next to a guard touches only its selected bytes
// (access_decoder.cpp), where the CPU has AVX-512BW.
// Usage: guard_rep_string; prints one line per check and "all ok"; exit 0 when all held.
// Each guard is released by a device thread 300 ms after it was taken.
#include <cpuid.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "guard/guard.h"
#include "guard/rep_string_emulation.h"
#include "memory/arena.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  fflush(stdout);
  if (!ok) failures++;
}

// The instructions themselves, whatever glibc's memset and memcpy would pick on this CPU.
void rep_stosb(void* dst, uint8_t value, size_t n) {
  asm volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(value) : "memory");
}
void rep_stosq(void* dst, uint64_t value, size_t n) {
  asm volatile("rep stosq" : "+D"(dst), "+c"(n) : "a"(value) : "memory");
}
void rep_movsb(void* dst, const void* src, size_t n) {
  asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}
// Backwards (direction flag set): not emulated, stepped; must still be right.
void rep_stosb_down(void* last, uint8_t value, size_t n) {
  asm volatile("std\n\trep stosb\n\tcld" : "+D"(last), "+c"(n) : "a"(value) : "memory", "cc");
}

bool all_equal(const uint8_t* p, size_t n, uint8_t v) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != v) return false;
  return true;
}

struct Guarded {
  zc::guard::GuardId id;
  std::thread device;
};

// Guards [lo, hi) of `page` in `dir`; a device thread writes `fill` there (inbound) after
// 300 ms and releases.
Guarded guard(uint8_t* page, size_t lo, size_t hi, zc::guard::Direction dir, uint8_t fill) {
  zc::guard::RequestInfo info;
  bool failed = false;
  char err[256];
  Guarded g;
  g.id = zc::guard::acquire(page + lo, hi - lo, dir, info, nullptr, &failed, err, sizeof err);
  if (failed) { fprintf(stderr, "acquire: %s\n", err); _exit(3); }
  const zc::guard::GuardId id = g.id;
  g.device = std::thread([page, lo, hi, dir, fill, id] {
    std::this_thread::sleep_for(300ms);
    if (dir == zc::guard::Direction::Inbound) {
      std::vector<uint8_t> bytes(hi - lo, fill);
      zc::memory::write_through(page + lo, bytes.data(), bytes.size());
    }
    zc::guard::release(id);
  });
  return g;
}

template <typename F>
long timed(F fn) {
  const auto t0 = Clock::now();
  fn();
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

uint64_t collateral() { return zc::guard::stats().faults_collateral; }

// fn run beside an inbound guard on bytes 2048..4095 of `page`, released 300 ms later.
struct Beside {
  long ms;
  uint64_t faults;              // collateral faults fn took
  unsigned long long emulated;  // bytes the handler stored for it
};
template <typename F>
Beside beside_inbound_guard(uint8_t* page, F fn) {
  const uint64_t c0 = collateral();
  const unsigned long long e0 = zc::guard::rep_string_bytes_emulated();
  Guarded g = guard(page, 2048, 4096, zc::guard::Direction::Inbound, 0xEE);
  const long ms = timed(fn);
  const Beside r = {ms, collateral() - c0, zc::guard::rep_string_bytes_emulated() - e0};
  g.device.join();
  return r;
}

// One fault, no wait, `bytes` stored by the handler, and the data right.
void check_one_fault(const Beside& r, unsigned long long bytes, bool data_ok, const char* what) {
  char line[300];
  snprintf(line, sizeof line, "%s: %ld ms, %llu collateral faults, %llu bytes emulated", what, r.ms,
           static_cast<unsigned long long>(r.faults), r.emulated);
  check(r.ms < 150 && r.faults == 1 && r.emulated == bytes && data_ok, line);
}

bool has_avx512bw() {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool bw = (b >> 30) & 1, f = (b >> 16) & 1;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1)) return false;  // OSXSAVE
  unsigned lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return f && bw && (lo & 0xE6) == 0xE6;  // the OS saves opmask and ZMM state
}

__attribute__((target("avx512f,avx512bw"))) void masked_store8(void* dst, uint64_t mask) {
  asm volatile("kmovq %1, %%k1\n\tvpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\n\tvmovdqu8 %%zmm0, (%0)%{%%k1%}"
               : : "r"(dst), "r"(mask) : "memory", "k1", "xmm0");
}

}  // namespace

int main() {
  alarm(60);
  char err[256];
  if (!zc::guard::init(zc::guard::Mode::Block, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 4; }
  printf("mechanism: %s\n", zc::guard::protection_mechanism());
  auto* page = static_cast<uint8_t*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  auto* other = static_cast<uint8_t*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  using zc::guard::Direction;

  // 1. rep stosb over the 2048 collateral bytes right before an inbound guard.
  memset(page, 0, 4096);
  Beside r = beside_inbound_guard(page, [&] { rep_stosb(page, 0x11, 2048); });
  check_one_fault(r, 2048, all_equal(page, 2048, 0x11) && all_equal(page + 2048, 2048, 0xEE), "rep stosb of 2048 collateral bytes");

  // 2. rep stosb that runs from collateral bytes into the guard: waits, then overwrites the
  // received bytes exactly as a memset after a blocking receive would.
  memset(page, 0, 4096);
  {
    Guarded g = guard(page, 2048, 4096, Direction::Inbound, 0xEE);
    const long ms = timed([&] { rep_stosb(page + 1024, 0x22, 2048); });
    g.device.join();
    check(ms >= 250 && all_equal(page, 1024, 0) && all_equal(page + 1024, 2048, 0x22) && all_equal(page + 3072, 1024, 0xEE),
          "rep stosb running into the guard waits, then its bytes follow the received ones");
  }

  // 3. rep stosq, 8-byte elements, unaligned to the page, ending right at the guard.
  memset(page, 0, 4096);
  r = beside_inbound_guard(page, [&] { rep_stosq(page + 8, 0x3333333333333333ull, (2048 - 8) / 8); });
  check_one_fault(r, 2040, all_equal(page, 8, 0) && all_equal(page + 8, 2040, 0x33), "rep stosq of collateral bytes");

  // 4. rep movsb into collateral bytes, from an unguarded page.
  memset(page, 0, 4096);
  memset(other, 0x44, 4096);
  r = beside_inbound_guard(page, [&] { rep_movsb(page, other, 2048); });
  check_one_fault(r, 2048, all_equal(page, 2048, 0x44), "rep movsb into collateral bytes");

  // 5. rep movsb out of collateral bytes of a receive buffer's page (reads are guarded too).
  memset(page, 0x55, 4096);
  memset(other, 0, 4096);
  r = beside_inbound_guard(page, [&] { rep_movsb(other, page, 2048); });
  check_one_fault(r, 2048, all_equal(other, 2048, 0x55), "rep movsb out of collateral bytes");

  // 6. rep movsb reading into the guard: waits, and copies the received bytes.
  memset(page, 0x66, 4096);
  memset(other, 0, 4096);
  {
    Guarded g = guard(page, 2048, 4096, Direction::Inbound, 0xEE);
    const long ms = timed([&] { rep_movsb(other, page + 1024, 2048); });
    g.device.join();
    check(ms >= 250 && all_equal(other, 1024, 0x66) && all_equal(other + 1024, 1024, 0xEE),
          "rep movsb reading into the guard waits and copies the received bytes");
  }

  // 7. An overlapping forward copy (destination one byte above the source) replicates the
  // first byte, as the CPU's element-by-element order does.
  memset(page, 0, 4096);
  page[100] = 0x77;
  {
    Guarded g = guard(page, 2048, 4096, Direction::Inbound, 0xEE);
    const long ms = timed([&] { rep_movsb(page + 101, page + 100, 1000); });
    g.device.join();
    check(ms < 150 && all_equal(page + 100, 1001, 0x77) && page[1101] == 0, "overlapping rep movsb keeps the CPU's semantics");
  }

  // 8. Next to an outbound guard: writes of collateral bytes go through, reads of the send
  // buffer never fault, writes into it wait.
  memset(page, 0x10, 4096);
  memset(other, 0, 4096);
  {
    Guarded g = guard(page, 2048, 4096, Direction::Outbound, 0);
    long ms = timed([&] { rep_stosb(page, 0x88, 2048); rep_movsb(other, page, 4096); });
    check(ms < 150 && all_equal(page, 2048, 0x88) && all_equal(other, 2048, 0x88) && all_equal(other + 2048, 2048, 0x10),
          "beside a send buffer: collateral writes and reads of the buffer go through");
    ms = timed([&] { rep_stosb(page + 2000, 0x99, 100); });
    g.device.join();
    check(ms >= 250 && all_equal(page + 2000, 100, 0x99), "rep stosb into a send buffer waits for its release");
  }

  // 9. The direction flag set: stepped, not emulated, and still right.
  memset(page, 0, 4096);
  {
    Guarded g = guard(page, 2048, 4096, Direction::Inbound, 0xEE);
    const unsigned long long e0 = zc::guard::rep_string_bytes_emulated();
    const long ms = timed([&] { rep_stosb_down(page + 2047, 0xAB, 64); });
    const unsigned long long emulated = zc::guard::rep_string_bytes_emulated() - e0;
    g.device.join();
    check(ms < 250 && emulated == 0 && all_equal(page + 1984, 64, 0xAB) && page[1983] == 0, "a downward rep stosb is stepped and right");
  }

  // 10. Four threads memset their own collateral slices of one page while its guard is
  // taken and released 200 times by another thread.
  memset(page, 0, 4096);
  {
    std::atomic<bool> stop{false};
    std::atomic<int> bad{0};
    std::vector<std::thread> ts;
    for (int k = 0; k < 4; k++) {
      ts.emplace_back([&, k] {
        for (int it = 0; !stop.load(); it++) {
          const uint8_t v = static_cast<uint8_t>(it * 4 + k + 1);
          rep_stosb(page + k * 512, v, 512);
          if (!all_equal(page + k * 512, 512, v)) bad.fetch_add(1);
        }
      });
    }
    for (int i = 0; i < 200; i++) {
      zc::guard::RequestInfo info;
      bool failed = false;
      const zc::guard::GuardId id = zc::guard::acquire(page + 2048, 2048, Direction::Inbound, info, nullptr, &failed, err, sizeof err);
      std::this_thread::sleep_for(200us);
      if (!failed) zc::guard::release(id);
    }
    stop.store(true);
    for (auto& t : ts) t.join();
    check(bad.load() == 0, "four threads' rep stosb on one page while its guard comes and goes: every slice intact");
  }

  // 11. AVX-512 masked store: only the selected bytes are the access.
  if (has_avx512bw()) {
    memset(page, 0, 4096);
    Guarded g = guard(page, 2048, 4096, Direction::Inbound, 0xEE);
    long ms = timed([&] { masked_store8(page + 2040, 0xFF); });  // bytes 2040..2047: collateral
    check(ms < 150 && all_equal(page + 2040, 8, 0xFF), "a masked 8-byte store just before the guard goes through at once");
    ms = timed([&] { masked_store8(page + 2044, 0xFF); });  // bytes 2044..2051: into the guard
    g.device.join();
    check(ms >= 250 && all_equal(page + 2044, 8, 0xFF) && page[2052] == 0xEE, "a masked store reaching the guard waits");
  } else {
    printf("skipped: masked-store checks (this CPU or kernel has no AVX-512BW)\n");
  }

  printf(failures ? "FAILED: %d checks\n" : "all ok\n", failures);
  return failures ? 1 : 0;
}
