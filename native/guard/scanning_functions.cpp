#include "guard/scanning_functions.h"

#include <dlfcn.h>

#include <atomic>
#include <cstddef>

// libgcc's lookup of the unwind entry (FDE) that covers a code address; `func` is the start
// of the function it describes. Exported by libgcc_s, which every C++ program loads.
extern "C" {
struct dwarf_eh_bases {
  void* tbase;
  void* dbase;
  void* func;
};
const void* _Unwind_Find_FDE(void* pc, struct dwarf_eh_bases* bases);
}

namespace zc::guard {
namespace {

struct CodeRange {
  uintptr_t start, end;
};

constexpr int kMaxRanges = 48;
CodeRange g_ranges[kMaxRanges];
std::atomic<int> g_count{0};

// Every libc function whose loads are bounded by a terminator or a mismatch rather than by
// a length it was given: each may read up to a vector past the last byte that matters.
const char* const kNames[] = {
  "strlen", "strnlen", "strchr", "strchrnul", "strrchr", "memchr", "memrchr", "rawmemchr",
  "strcmp", "strncmp", "strcasecmp", "strncasecmp", "strcpy", "stpcpy", "strncpy", "stpncpy",
  "strcat", "strncat", "strspn", "strcspn", "strpbrk", "strstr", "strcasestr",
  "wcslen", "wcsnlen", "wcschr", "wcsrchr", "wcscmp", "wcsncmp", "wcscpy", "wmemchr",
};

bool starts_here(uintptr_t pc, uintptr_t start) {
  struct dwarf_eh_bases b = {nullptr, nullptr, nullptr};
  return _Unwind_Find_FDE(reinterpret_cast<void*>(pc), &b) != nullptr && reinterpret_cast<uintptr_t>(b.func) == start;
}

// One past the last byte the function's unwind entry covers; 0 if it has none.
uintptr_t function_end(uintptr_t start) {
  if (!starts_here(start, start)) return 0;
  uintptr_t in = start, out = start + 64;
  while (starts_here(out, start)) {
    in = out;
    out = start + 2 * (out - start);
    if (out - start > (uintptr_t{1} << 20)) return 0;  // not a string function's size: distrust
  }
  while (out - in > 1) {
    const uintptr_t mid = in + (out - in) / 2;
    if (starts_here(mid, start)) in = mid;
    else out = mid;
  }
  return out;
}

}  // namespace

void learn_scanning_functions() {
  // libc's own definitions, not an interposer's (a sanitizer's strlen calls libc's).
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  if (!libc) return;
  int n = 0;
  for (const char* name : kNames) {
    // dlsym of an IFUNC symbol returns the variant its resolver picked for this CPU, the
    // one every caller in the process reaches.
    void* f = dlsym(libc, name);
    if (!f || n >= kMaxRanges) continue;
    const uintptr_t start = reinterpret_cast<uintptr_t>(f);
    bool seen = false;
    for (int i = 0; i < n; i++) seen = seen || g_ranges[i].start == start;
    if (seen) continue;
    const uintptr_t end = function_end(start);
    if (end == 0) continue;
    g_ranges[n++] = {start, end};
  }
  g_count.store(n, std::memory_order_release);
  dlclose(libc);  // drops the reference RTLD_NOLOAD took; libc stays loaded
}

bool in_scanning_function(uintptr_t pc) {
  const int n = g_count.load(std::memory_order_acquire);
  for (int i = 0; i < n; i++) {
    if (pc >= g_ranges[i].start && pc < g_ranges[i].end) return true;
  }
  return false;
}

int scanning_functions_known() { return g_count.load(std::memory_order_acquire); }

}  // namespace zc::guard
