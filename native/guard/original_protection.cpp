#include "guard/original_protection.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "guard/page_table.h"

namespace zc::guard {
namespace {

// PROCMAP_QUERY (Linux 6.11+): ask /proc/self/maps about one address without reading the
// whole file. Defined here because Debian 12's kernel headers predate it.
struct ProcmapQuery {
  uint64_t size;
  uint64_t query_flags;
  uint64_t query_addr;
  uint64_t vma_start;
  uint64_t vma_end;
  uint64_t vma_flags;
  uint64_t vma_page_size;
  uint64_t vma_offset;
  uint64_t inode;
  uint32_t dev_major;
  uint32_t dev_minor;
  uint32_t vma_name_size;
  uint32_t build_id_size;
  uint64_t vma_name_addr;
  uint64_t build_id_addr;
};
constexpr unsigned long kProcmapQuery = _IOWR('f', 17, ProcmapQuery);
constexpr uint64_t kVmaReadable = 1, kVmaWritable = 2, kVmaExecutable = 4;

std::atomic<int> g_maps_fd{-1};
std::atomic<pid_t> g_maps_pid{0};
std::atomic<bool> g_query_unsupported{false};

int maps_fd() {
  if (g_maps_pid.load() != getpid()) {  // a fork child must not ask about its parent
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    int old = g_maps_fd.exchange(fd);
    g_maps_pid.store(getpid());
    if (old >= 0) close(old);
  }
  return g_maps_fd.load();
}

// Returns 1 on success, 0 when part of the range is unmapped, -1 when the ioctl is missing.
int query_ranges(uintptr_t first, size_t npages, uint8_t* prots) {
  int fd = maps_fd();
  if (fd < 0) return -1;
  size_t filled = 0;
  while (filled < npages) {
    ProcmapQuery q{};
    q.size = sizeof q;
    q.query_addr = first + filled * kPageSize;
    if (ioctl(fd, kProcmapQuery, &q) != 0) {
      if (errno == ENOENT) return 0;
      return -1;
    }
    if (q.vma_start > q.query_addr) return 0;
    int prot = ((q.vma_flags & kVmaReadable) ? PROT_READ : 0) | ((q.vma_flags & kVmaWritable) ? PROT_WRITE : 0) |
               ((q.vma_flags & kVmaExecutable) ? PROT_EXEC : 0);
    for (uintptr_t a = q.query_addr; a < q.vma_end && filled < npages; a += kPageSize) {
      prots[filled++] = static_cast<uint8_t>(prot);
    }
  }
  return 1;
}

bool parse_whole_file(uintptr_t first, size_t npages, uint8_t* prots) {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  const uintptr_t last_end = first + npages * kPageSize;
  size_t filled = 0;  // pages [first, first + filled) are known
  size_t pos = 0;
  while (pos < text.size() && filled < npages) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    const char* line = text.c_str() + pos;
    char* p;
    uintptr_t lo = std::strtoull(line, &p, 16);
    uintptr_t hi = std::strtoull(p + 1, &p, 16);
    const char* perms = p + 1;
    pos = eol + 1;
    uintptr_t cur = first + filled * kPageSize;
    if (hi <= cur) continue;
    if (lo > cur) return false;  // a hole: part of the range is not mapped
    int prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
               (perms[2] == 'x' ? PROT_EXEC : 0);
    uintptr_t stop = hi < last_end ? hi : last_end;
    for (uintptr_t a = cur; a < stop; a += kPageSize) prots[filled++] = static_cast<uint8_t>(prot);
  }
  return filled == npages;
}

}  // namespace

bool read_original_protection(uintptr_t first, size_t npages, uint8_t* prots) {
  if (!g_query_unsupported.load()) {
    int r = query_ranges(first, npages, prots);
    if (r >= 0) return r == 1;
    g_query_unsupported.store(true);  // older kernel: fall back to reading the whole file
  }
  return parse_whole_file(first, npages, prots);
}

}  // namespace zc::guard
