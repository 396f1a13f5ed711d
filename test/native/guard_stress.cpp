// Native stress test of the guard engine (no Node): program threads post sends and
// receives on random, unaligned, page-sharing ranges of registered (arena) and plain
// memory and touch their buffers at once; device threads verify outbound bytes (through
// the device view or /proc/self/mem) and fill inbound ones, then release at random times.
// Program threads also hammer neighbour bytes that share pages with other threads' guards.
// Every byte is checked against what its owner last wrote or received.
//
// Usage: guard_stress [rounds-per-thread=3000] [program-threads=3] [device-threads=2] [seed]
// Exit 0 and a summary line when no byte was lost or corrupted; 1 otherwise.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "guard/guard.h"
#include "memory/arena.h"

namespace {

using zc::guard::Direction;
using zc::guard::GuardId;

constexpr size_t kRegion = 256 * 1024;  // per memory kind
std::atomic<uint64_t> g_errors{0};
std::atomic<uint64_t> g_device_errors{0};
std::atomic<uint64_t> g_rounds{0};
std::atomic<uint64_t> g_neighbour_checks{0};
std::mutex g_print;

void error(const char* what, size_t off, int got, int want) {
  if (g_errors.fetch_add(1) < 10) {
    std::lock_guard<std::mutex> l(g_print);
    fprintf(stderr, "guard_stress: %s at offset %zu: got %d, expected %d\n", what, off, got, want);
  }
}

int g_mem_fd = -1;
bool read_through(const void* src, void* dst, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(g_mem_fd, static_cast<char*>(dst) + done, len - done,
                      static_cast<off_t>(reinterpret_cast<uintptr_t>(src) + done));
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

struct Region {
  const char* name;
  unsigned char* program;
  bool arena;
};

// A slot: a range one program thread owns and posts transfers on.
struct Slot {
  Region* region;
  size_t off, len;
  int owner;
};

struct Job {
  Slot* slot;
  Direction dir;
  GuardId id;
  unsigned char value;  // outbound: the pattern the device must see; inbound: what it writes
  int delay_us;
};

std::mutex g_qmu;
std::condition_variable g_qcv;
std::deque<Job> g_queue;
bool g_done = false;

void device_main(unsigned seed) {
  zc::guard::mark_transport_thread("stress-device");
  std::mt19937 rng(seed);
  std::vector<unsigned char> tmp;
  for (;;) {
    Job j;
    {
      std::unique_lock<std::mutex> l(g_qmu);
      g_qcv.wait(l, [] { return g_done || !g_queue.empty(); });
      if (g_queue.empty()) return;
      // Take a random job so completions come out of order.
      size_t k = rng() % g_queue.size();
      j = g_queue[k];
      g_queue.erase(g_queue.begin() + static_cast<long>(k));
    }
    if (j.delay_us) std::this_thread::sleep_for(std::chrono::microseconds(j.delay_us));
    unsigned char* p = j.slot->region->program + j.slot->off;
    void* dev = zc::memory::device_address(p, j.slot->len);
    if (j.dir == Direction::Outbound) {
      // The device reads the send buffer: it must still hold what was there at posting.
      tmp.resize(j.slot->len);
      bool ok = dev ? (memcpy(tmp.data(), dev, j.slot->len), true) : read_through(p, tmp.data(), j.slot->len);
      for (size_t i = 0; ok && i < j.slot->len; i++) {
        if (tmp[i] != j.value) {
          g_device_errors.fetch_add(1);
          error("send buffer changed while in flight", j.slot->off + i, tmp[i], j.value);
          break;
        }
      }
    } else {
      if (dev) {
        memset(dev, j.value, j.slot->len);
      } else {
        tmp.assign(j.slot->len, j.value);
        if (!zc::memory::write_through(p, tmp.data(), j.slot->len)) error("write_through failed", j.slot->off, errno, 0);
      }
    }
    zc::guard::release(j.id);
  }
}

void post(const Job& j) {
  {
    std::lock_guard<std::mutex> l(g_qmu);
    g_queue.push_back(j);
  }
  g_qcv.notify_one();
}

struct Neighbour {
  Region* region;
  size_t off;
};

void program_main(int me, std::vector<Slot*> mine, std::vector<Neighbour> nbrs, int rounds, unsigned seed) {
  zc::guard::ensure_alt_stack();
  std::mt19937 rng(seed);
  std::vector<unsigned char> nval(nbrs.size());
  for (size_t k = 0; k < nbrs.size(); k++) nval[k] = nbrs[k].region->program[nbrs[k].off];
  for (int r = 0; r < rounds; r++) {
    Slot* s = mine[rng() % mine.size()];
    unsigned char* p = s->region->program + s->off;
    const bool inbound = rng() & 1;
    const int delay = static_cast<int>(rng() % 300);
    const unsigned char v = static_cast<unsigned char>(1 + rng() % 254);
    bool failed = false;
    char err[256];
    zc::guard::RequestInfo info;
    info.call = inbound ? "irecv" : "isend";
    info.peer = me;
    info.tag = r;
    info.bytes = s->len;
    if (inbound) {
      GuardId id = zc::guard::acquire(p, s->len, Direction::Inbound, info, nullptr, &failed, err, sizeof err);
      if (failed) { error(err, s->off, 0, 0); continue; }
      post(Job{s, Direction::Inbound, id, v, delay});
      // Touch neighbours (collateral on shared pages) while the receive is in flight.
      for (int k = 0; k < 4; k++) {
        size_t n = rng() % nbrs.size();
        volatile unsigned char* q = nbrs[n].region->program + nbrs[n].off;
        if (*q != nval[n]) error("neighbour byte changed", nbrs[n].off, *q, nval[n]);
        nval[n] = static_cast<unsigned char>(nval[n] + 1);
        *q = nval[n];
        g_neighbour_checks.fetch_add(1, std::memory_order_relaxed);
      }
      // Read a random byte of the receive buffer: waits, then sees the device's data.
      size_t i = rng() % s->len;
      volatile unsigned char* q = p + i;
      unsigned char got = *q;
      if (got != v) error("receive buffer read before completion", s->off + i, got, v);
      for (size_t k = 0; k < s->len; k++) if (p[k] != v) { error("received data incomplete", s->off + k, p[k], v); break; }
    } else {
      memset(p, v, s->len);
      GuardId id = zc::guard::acquire(p, s->len, Direction::Outbound, info, nullptr, &failed, err, sizeof err);
      if (failed) { error(err, s->off, 0, 0); continue; }
      post(Job{s, Direction::Outbound, id, v, delay});
      // Reads of the send buffer proceed; a write waits until the device read it all.
      size_t i = rng() % s->len;
      if (static_cast<volatile unsigned char*>(p)[i] != v) error("send buffer unreadable", s->off + i, p[i], v);
      for (int k = 0; k < 4; k++) {
        size_t n = rng() % nbrs.size();
        volatile unsigned char* q = nbrs[n].region->program + nbrs[n].off;
        if (*q != nval[n]) error("neighbour byte changed", nbrs[n].off, *q, nval[n]);
        nval[n] = static_cast<unsigned char>(nval[n] + 1);
        *q = nval[n];
        g_neighbour_checks.fetch_add(1, std::memory_order_relaxed);
      }
      const unsigned char w = static_cast<unsigned char>(v ^ 0x80);
      memset(p, w, s->len);  // waits for the release
      for (size_t k = 0; k < s->len; k++) if (p[k] != w) { error("write after send lost", s->off + k, p[k], w); break; }
    }
    g_rounds.fetch_add(1, std::memory_order_relaxed);
  }
  for (size_t k = 0; k < nbrs.size(); k++) {
    unsigned char got = nbrs[k].region->program[nbrs[k].off];
    if (got != nval[k]) error("neighbour byte at the end", nbrs[k].off, got, nval[k]);
  }
}

bool region_restored(const Region& r) {
  // Every page of the region must be read-write again: /proc/self/maps must cover it rw.
  FILE* f = fopen("/proc/self/maps", "r");
  if (!f) return false;
  uintptr_t lo = reinterpret_cast<uintptr_t>(r.program), hi = lo + kRegion, covered = lo;
  char line[512];
  bool ok = true;
  while (fgets(line, sizeof line, f)) {
    unsigned long a, b;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) != 3) continue;
    if (b <= lo || a >= hi) continue;
    if (perms[0] != 'r' || perms[1] != 'w') { ok = false; fprintf(stderr, "guard_stress: %s pages %lx-%lx left %s\n", r.name, a, b, perms); }
    if (a <= covered && b > covered) covered = b;
  }
  fclose(f);
  return ok && covered >= hi;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? atoi(argv[1]) : 3000;
  const int nprog = argc > 2 ? atoi(argv[2]) : 3;
  const int ndev = argc > 3 ? atoi(argv[3]) : 2;
  const unsigned seed = argc > 4 ? static_cast<unsigned>(strtoul(argv[4], nullptr, 10)) : static_cast<unsigned>(time(nullptr));
  char err[256];
  if (!zc::guard::init(zc::guard::Mode::Block, err, sizeof err)) { fprintf(stderr, "init: %s\n", err); return 2; }
  g_mem_fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);

  zc::memory::Block block;
  if (!zc::memory::alloc(kRegion, &block, err, sizeof err)) { fprintf(stderr, "alloc: %s\n", err); return 2; }
  void* plain = mmap(nullptr, kRegion, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  Region regions[2] = {{"arena", static_cast<unsigned char*>(block.program), true},
                       {"plain", static_cast<unsigned char*>(plain), false}};

  // Carve each region into slots of random length (1 B .. 3 pages) at random unaligned
  // offsets, leaving gaps of neighbour bytes between them; owners round-robin so pages are
  // shared between threads.
  // With ZC_STRESS_SEPARATE=1 each program thread gets page-aligned parts of its own
  // instead, so no page is shared between threads (isolates cross-thread effects).
  const bool separate = getenv("ZC_STRESS_SEPARATE") && atoi(getenv("ZC_STRESS_SEPARATE")) != 0;
  std::mt19937 rng(seed);
  std::vector<Slot> slots;
  std::vector<std::vector<Neighbour>> nbrs(static_cast<size_t>(nprog));
  for (Region& r : regions) {
    const size_t part = (kRegion / static_cast<size_t>(nprog)) & ~size_t{4095};
    size_t off = rng() % 64;
    int k = 0;
    while (true) {
      size_t len = (rng() % 4 == 0) ? 1 + rng() % (3 * 4096) : 1 + rng() % 200;
      if (off + len + 64 > kRegion) break;
      int owner = k % nprog, nowner = (k + 1) % nprog;
      if (separate) {
        owner = nowner = static_cast<int>(off / part);
        if (owner >= nprog) break;
        if ((off + len + 96) / part != off / part) { off = (off / part + 1) * part + rng() % 64; continue; }
      }
      slots.push_back(Slot{&r, off, len, owner});
      size_t gap = 1 + rng() % 96;
      for (size_t g = 0; g < gap; g += 7) nbrs[static_cast<size_t>(nowner)].push_back(Neighbour{&r, off + len + g});
      off += len + gap;
      k++;
    }
  }
  std::vector<std::vector<Slot*>> mine(static_cast<size_t>(nprog));
  for (Slot& s : slots) mine[static_cast<size_t>(s.owner)].push_back(&s);

  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> devs, progs;
  for (int d = 0; d < ndev; d++) devs.emplace_back(device_main, seed + 1000 + static_cast<unsigned>(d));
  for (int p = 0; p < nprog; p++)
    progs.emplace_back(program_main, p, mine[static_cast<size_t>(p)], nbrs[static_cast<size_t>(p)], rounds, seed + static_cast<unsigned>(p));
  for (auto& t : progs) t.join();
  {
    std::lock_guard<std::mutex> l(g_qmu);
    g_done = true;
  }
  g_qcv.notify_all();
  for (auto& t : devs) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  zc::guard::Stats st = zc::guard::stats();
  bool restored = region_restored(regions[0]) && region_restored(regions[1]);
  printf("guard_stress: seed %u, %d program + %d device threads, %zu slots, %llu transfers, %llu neighbour checks in %.2f s; "
         "waited %llu, collateral %llu, lifted %llu, mprotect %llu; active %llu; errors %llu (device saw %llu); protections %s\n",
         seed, nprog, ndev, slots.size(), static_cast<unsigned long long>(g_rounds.load()),
         static_cast<unsigned long long>(g_neighbour_checks.load()), secs,
         static_cast<unsigned long long>(st.faults_waited), static_cast<unsigned long long>(st.faults_collateral),
         static_cast<unsigned long long>(st.faults_lifted), static_cast<unsigned long long>(st.mprotect_calls),
         static_cast<unsigned long long>(st.active_guards), static_cast<unsigned long long>(g_errors.load()),
         static_cast<unsigned long long>(g_device_errors.load()), restored ? "restored" : "NOT restored");
  return g_errors.load() == 0 && st.active_guards == 0 && restored ? 0 : 1;
}
