#include "guard/original_protection.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "guard/page_table.h"

namespace zc::guard {

bool read_original_protection(uintptr_t first, size_t npages, uint8_t* prots) {
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

}  // namespace zc::guard
