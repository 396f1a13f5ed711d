#include "guard/rep_string_emulation.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "guard/guard_table.h"
#include "guard/page_table.h"
#include "guard/raw_syscall.h"

namespace zc::guard {
namespace {

constexpr long kDirectionFlag = 0x400;  // EFLAGS.DF: string instructions walk downwards
constexpr size_t kChunk = 2048;         // bytes per read/write: the handler may run on a small stack

std::atomic<int> g_mem_fd{-1};
std::atomic<unsigned long long> g_bytes{0};

uintptr_t page_room(uintptr_t a) { return kPageSize - (a & (kPageSize - 1)); }

// How the bytes of one page may be touched on the program's behalf. Pages zcmpi tracks go
// through /proc/self/mem, which ignores the protection zcmpi applied, and only when the
// page's own protection (before any guard) allows the access. Other pages go through
// process_vm_readv/writev, which fail exactly where the program's own access would fault,
// so the emulation never reads or writes what the instruction could not have.
enum class Route { Mem, Vm, Refuse };

Route route_for(uintptr_t page, int need) {
  PageState* ps = page_lookup(page);
  if (!ps || !ps->known.load()) return Route::Vm;
  return (ps->original.load() & need) == need ? Route::Mem : Route::Refuse;
}

bool transfer(uintptr_t addr, void* buf, size_t n, bool write) {
  const int need = write ? PROT_WRITE : PROT_READ;
  size_t done = 0;
  while (done < n) {
    const uintptr_t a = addr + done;
    size_t part = page_room(a);
    if (part > n - done) part = n - done;
    char* b = static_cast<char*>(buf) + done;
    long got;
    switch (route_for(a & kPageMask, need)) {
      case Route::Refuse: return false;
      case Route::Mem: {
        const int fd = g_mem_fd.load(std::memory_order_acquire);
        if (fd < 0) return false;
        got = raw_syscall6(write ? SYS_pwrite64 : SYS_pread64, fd, reinterpret_cast<long>(b), static_cast<long>(part),
                           static_cast<long>(a), 0, 0);
        break;
      }
      case Route::Vm: {
        struct iovec local = {b, part};
        struct iovec remote = {reinterpret_cast<void*>(a), part};
        const long pid = raw_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0);
        got = raw_syscall6(write ? SYS_process_vm_writev : SYS_process_vm_readv, pid, reinterpret_cast<long>(&local), 1,
                           reinterpret_cast<long>(&remote), 1, 0);
        break;
      }
    }
    if (got != static_cast<long>(part)) return false;  // a partial page is retried by the CPU
    done += part;
  }
  return true;
}

// Shrinks [lo, lo + *bytes) to its part before the first byte a guard claims for this
// kind of access, keeping whole elements.
void clip_to_guards(uintptr_t lo, size_t* bytes, size_t element, bool write) {
  size_t idx;
  SlotView v;
  while (*bytes > 0 && find_conflict(lo, lo + *bytes, write, &idx, &v)) {
    size_t keep = v.start > lo ? v.start - lo : 0;
    keep -= keep % element;
    // The guard found may not be the lowest one, or may have moved since: keep shrinking.
    if (keep >= *bytes) keep = *bytes - element;
    *bytes = keep;
  }
}

bool touches_guarded_page(uintptr_t lo, size_t n) {
  for (uintptr_t p = lo & kPageMask; p < lo + n; p += kPageSize) {
    PageState* ps = page_lookup(p);
    if (ps && ps->known.load() && page_is_guarded(*ps)) return true;
  }
  return false;
}

}  // namespace

void open_emulation_memory() {
  if (g_mem_fd.load() >= 0) return;
  const int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
  int expected = -1;
  if (fd >= 0 && !g_mem_fd.compare_exchange_strong(expected, fd)) close(fd);
}

void reopen_emulation_memory_after_fork() {
  // Only this thread exists in the child: the parent's descriptor can be closed safely.
  const int old = g_mem_fd.exchange(-1);
  if (old < 0) return;
  close(old);
  const int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
  if (fd >= 0) g_mem_fd.store(fd);
}

size_t emulate_rep_string(ucontext_t* uc, const DecodedAccesses& acc) {
  greg_t* r = uc->uc_mcontext.gregs;
  if (acc.rep_string == 0 || (r[REG_EFL] & kDirectionFlag) || g_mem_fd.load(std::memory_order_relaxed) < 0) return 0;
  const size_t element = acc.rep_element;
  if (element != 1 && element != 2 && element != 4 && element != 8) return 0;
  const bool movs = acc.rep_string == kRepMovs;
  uint64_t count = static_cast<uint64_t>(r[REG_RCX]);
  uintptr_t di = static_cast<uintptr_t>(r[REG_RDI]);
  uintptr_t si = static_cast<uintptr_t>(r[REG_RSI]);
  alignas(8) unsigned char buf[kChunk];
  if (!movs) {
    const uint64_t value = static_cast<uint64_t>(r[REG_RAX]);
    for (size_t i = 0; i < kChunk; i += element) memcpy(buf + i, &value, element);  // little-endian: the low bytes
  }
  size_t stored = 0;
  while (count > 0) {
    // One chunk stays within one page of each operand (an element may straddle two).
    uintptr_t room = page_room(di);
    if (movs && page_room(si) < room) room = page_room(si);
    if (room > kChunk) room = kChunk;
    uint64_t n = room / element;
    if (n == 0) n = 1;
    if (n > count) n = count;
    size_t bytes = static_cast<size_t>(n) * element;
    // An overlapping forward copy reads what earlier iterations wrote: never read ahead of
    // the bytes already stored.
    if (movs && di > si && di - si < bytes) {
      const size_t gap = di - si;
      bytes = gap >= element ? gap - gap % element : element;
    }
    clip_to_guards(di, &bytes, element, true);
    if (movs) clip_to_guards(si, &bytes, element, false);
    if (bytes == 0) break;
    // Outside pages zcmpi protects the CPU is faster than we are.
    if (!touches_guarded_page(di, bytes) && !(movs && touches_guarded_page(si, bytes))) break;
    if (movs && !transfer(si, buf, bytes, false)) break;
    if (!transfer(di, buf, bytes, true)) break;
    di += bytes;
    if (movs) si += bytes;
    count -= bytes / element;
    stored += bytes;
  }
  if (stored == 0) return 0;
  r[REG_RDI] = static_cast<greg_t>(di);
  if (movs) r[REG_RSI] = static_cast<greg_t>(si);
  r[REG_RCX] = static_cast<greg_t>(count);
  g_bytes.fetch_add(stored, std::memory_order_relaxed);
  return stored;
}

unsigned long long rep_string_bytes_emulated() { return g_bytes.load(std::memory_order_relaxed); }

}  // namespace zc::guard
