// comm.alloc blocks: one memfd per block, mapped twice (program view + device view).
#include "memory/arena.h"
#include "memory/listener_list.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace zc::memory {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kHuge = size_t{2} << 20;

std::mutex g_mutex;
std::map<uintptr_t, Block> g_blocks;  // keyed by program-view address
std::map<uintptr_t, Block> g_by_device;  // the same blocks, keyed by device-view address
ListenerList<Block> g_free_listeners;  // called outside g_mutex (listener_list.h)
uint64_t g_bytes = 0, g_huge = 0, g_exported = 0;
uint64_t g_next_generation = 1;

// Reserves len bytes of address space aligned to `align`, so MAP_FIXED can place a view there.
void* reserve_aligned(size_t len, size_t align) {
  size_t span = len + align;
  void* p = mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  uintptr_t base = reinterpret_cast<uintptr_t>(p);
  uintptr_t aligned = (base + align - 1) & ~(align - 1);
  if (aligned > base) munmap(p, aligned - base);
  uintptr_t tail = aligned + len, end = base + span;
  if (end > tail) munmap(reinterpret_cast<void*>(tail), end - tail);
  return reinterpret_cast<void*>(aligned);
}

}  // namespace

bool alloc(size_t bytes, Block* out, char* err, size_t errlen) {
  if (bytes == 0) { snprintf(err, errlen, "cannot allocate 0 bytes"); return false; }
  const bool huge = bytes >= kHuge;
  const size_t align = huge ? kHuge : kPage;
  const size_t size = (bytes + align - 1) & ~(align - 1);
  int fd = memfd_create("zcmpi-block", MFD_CLOEXEC);
  if (fd < 0) { snprintf(err, errlen, "memfd_create failed: %s", strerror(errno)); return false; }
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    snprintf(err, errlen, "cannot size a %zu-byte block: %s", size, strerror(errno));
    close(fd);
    return false;
  }
  void* views[2] = {nullptr, nullptr};
  for (int v = 0; v < 2; v++) {
    void* at = reserve_aligned(size, align);
    void* m = at ? mmap(at, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd, 0) : MAP_FAILED;
    if (m == MAP_FAILED) {
      snprintf(err, errlen, "cannot map a %zu-byte block: %s", size, strerror(errno));
      if (at) munmap(at, size);
      if (views[0]) munmap(views[0], size);
      close(fd);
      return false;
    }
    views[v] = m;
    // A fork child shares these pages with the parent (MAP_SHARED), and holds no guards.
    if (huge) madvise(m, size, MADV_HUGEPAGE);
  }
  Block b{views[0], views[1], size, huge};
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    b.generation = g_next_generation++;
    if (size >= kExportMin && g_exported < kExportMax) {
      b.fd = fd;
      g_exported++;
    }
    g_blocks[reinterpret_cast<uintptr_t>(b.program)] = b;
    g_by_device[reinterpret_cast<uintptr_t>(b.device)] = b;
    g_bytes += size;
    if (huge) g_huge++;
  }
  if (b.fd < 0) close(fd);  // the mappings keep the memory alive
  *out = b;
  return true;
}

void free(void* program) {
  Block b;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_blocks.find(reinterpret_cast<uintptr_t>(program));
    if (it == g_blocks.end()) return;
    b = it->second;
    g_blocks.erase(it);
    g_by_device.erase(reinterpret_cast<uintptr_t>(b.device));
    g_bytes -= b.size;
    if (b.huge_aligned) g_huge--;
    if (b.fd >= 0) g_exported--;
  }
  g_free_listeners.notify(b);
  munmap(b.program, b.size);
  munmap(b.device, b.size);
  // A peer that mapped the block keeps its own mapping (and so the pages) until its cache
  // drops it; this process's last reference goes here.
  if (b.fd >= 0) close(b.fd);
}

void* device_address(const void* p, size_t len) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_blocks.upper_bound(a);
  if (it == g_blocks.begin()) return nullptr;
  --it;
  const Block& b = it->second;
  uintptr_t base = it->first;
  if (a < base || a + len > base + b.size) return nullptr;
  return static_cast<char*>(b.device) + (a - base);
}

bool find_device_block(const void* p, size_t len, Block* out) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_by_device.upper_bound(a);
  if (it == g_by_device.begin()) return false;
  --it;
  if (a < it->first || a + len > it->first + it->second.size) return false;
  *out = it->second;
  return true;
}

void add_free_listener(FreeListener fn, void* ctx) { g_free_listeners.add(fn, ctx); }

void remove_free_listener(FreeListener fn, void* ctx) { g_free_listeners.remove(fn, ctx); }

bool write_through(void* dst, const void* src, size_t len) {
  // /proc/self/mem opened before a fork still names the parent: reopen in a child. Opened
  // once per process under a lock (two threads' first calls used to open one each, and the
  // second closed the descriptor the first was writing through: TSan, guard-native-stress).
  // The inherited descriptor is never closed: another thread may be writing through it, and
  // a closed number can be handed to an unrelated file.
  static std::mutex open_lock;
  static std::atomic<int> fd{-1};
  static std::atomic<pid_t> owner{0};
  const pid_t me = getpid();
  if (owner.load(std::memory_order_acquire) != me) {
    std::lock_guard<std::mutex> l(open_lock);
    if (owner.load(std::memory_order_acquire) != me) {
      int f = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
      if (f < 0) return false;
      fd.store(f, std::memory_order_relaxed);
      owner.store(me, std::memory_order_release);
    }
  }
  const int mem = fd.load(std::memory_order_relaxed);
  size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(mem, static_cast<const char*>(src) + done, len - done,
                       static_cast<off_t>(reinterpret_cast<uintptr_t>(dst) + done));
    if (n < 0) { if (errno == EINTR) continue; return false; }
    if (n == 0) { errno = EIO; return false; }
    done += static_cast<size_t>(n);
  }
  return true;
}

Stats stats() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return Stats{g_blocks.size(), g_exported, g_bytes, g_huge};
}

}  // namespace zc::memory
