#include "guard/convergence.h"

#include <sys/mman.h>

#include <atomic>
#include <cerrno>

namespace zc::guard {
namespace {

std::atomic<uint64_t> g_mprotects{0};
std::atomic<ProtectInterceptor> g_interceptor{nullptr};

}  // namespace

void set_protect_interceptor(ProtectInterceptor fn) { g_interceptor.store(fn); }

int protect(uintptr_t addr, size_t len, uint8_t state) {
  g_mprotects.fetch_add(1, std::memory_order_relaxed);
  if (ProtectInterceptor fn = g_interceptor.load(std::memory_order_acquire)) {
    const int injected = fn(addr, len, state_prot(state), state_key(state));
    if (injected != 0) return injected;
  }
  const int saved = errno;
  int r = keys_active() ? pkey_mprotect(reinterpret_cast<void*>(addr), len, state_prot(state), state_key(state))
                        : mprotect(reinterpret_cast<void*>(addr), len, state_prot(state));
  const int error = r == 0 ? 0 : errno;
  errno = saved;
  return error;
}

uint64_t mprotect_calls() { return g_mprotects.load(std::memory_order_relaxed); }

bool converge_page(uintptr_t page, bool force) {
  PageState* ps = page_lookup(page);
  ps->handler_busy.fetch_add(1);  // first: learn_pages must not trust what it sees from now on
  bool ok = true;
  for (int failures = 0;;) {
    uint32_t gen = ps->gen.load();
    uint8_t want = desired_state(*ps);
    if (force || ps->applied.load() != want) {
      if (protect(page, kPageSize, want) != 0) {
        // Not applied: `applied` keeps what the kernel still has. A few quick retries,
        // then the caller decides (the access faults again and comes back here).
        if (++failures < 8) continue;
        ok = false;
        break;
      }
      ps->applied.store(want);
    }
    // Another thread changed the counts meanwhile: our mprotect may be stale.
    if (ps->gen.load() == gen) break;
    force = true;
  }
  ps->handler_busy.fetch_sub(1);
  return ok;
}

bool converge(uintptr_t first, size_t npages, bool force, int* error) {
  // Not for signal context (uses the heap): the handler uses converge_page. One pass over
  // the whole range so a contiguous buffer costs one mprotect however large it is.
  // Scratch lives in pages of its own (mmap), never on the malloc heap: heap pages can sit
  // under a plain buffer's guard, and touching them here would single-step, bump their
  // generation and make this loop believe forever that another thread changed the counts.
  struct Scratch { uint32_t gen; uint8_t want; };
  thread_local Scratch* scratch = nullptr;
  thread_local size_t scratch_pages = 0;
  const size_t bytes_needed = npages * sizeof(Scratch);
  if (scratch_pages * kPageSize < bytes_needed) {
    if (scratch) munmap(scratch, scratch_pages * kPageSize);
    scratch_pages = (bytes_needed + kPageSize - 1) / kPageSize;
    void* m = mmap(nullptr, scratch_pages * kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    scratch = m == MAP_FAILED ? nullptr : static_cast<Scratch*>(m);
    if (!scratch) { scratch_pages = 0; *error = ENOMEM; return false; }
  }
  // One read of the thread-local pointer: read in the loops below, it cost a call per page
  // (__tls_get_addr: the addon is a shared object).
  Scratch* const sc = scratch;
  // The pages count as busy while we change them: a fault on one of them meanwhile may see
  // a protection that is about to change and must not give up on it (see on_segv).
  for (size_t i = 0; i < npages; i++) page_lookup(first + i * kPageSize)->handler_busy.fetch_add(1);
  struct Unbusy {
    uintptr_t first;
    size_t npages;
    ~Unbusy() { for (size_t i = 0; i < npages; i++) page_lookup(first + i * kPageSize)->handler_busy.fetch_sub(1); }
  } unbusy{first, npages};
  bool again = true;
  while (again) {
    again = false;
    for (size_t i = 0; i < npages; i++) {
      PageState* ps = page_lookup(first + i * kPageSize);
      sc[i].gen = ps->gen.load();
      sc[i].want = desired_state(*ps);
    }
    // Coalesce neighbouring pages that need the same change into one mprotect.
    size_t i = 0;
    while (i < npages) {
      if (!force && page_lookup(first + i * kPageSize)->applied.load() == sc[i].want) { i++; continue; }
      size_t j = i + 1;
      while (j < npages && sc[j].want == sc[i].want &&
             (force || page_lookup(first + j * kPageSize)->applied.load() != sc[j].want)) {
        j++;
      }
      const int e = protect(first + i * kPageSize, (j - i) * kPageSize, sc[i].want);
      if (e != 0) {
        // Nothing of this call is recorded as applied; the caller undoes or retries.
        *error = e;
        return false;
      }
      for (size_t k = i; k < j; k++) page_lookup(first + k * kPageSize)->applied.store(sc[i].want);
      i = j;
    }
    // Another thread changed counts while we worked: our mprotect may be stale.
    for (size_t k = 0; k < npages; k++) {
      if (page_lookup(first + k * kPageSize)->gen.load() != sc[k].gen) { again = true; force = true; break; }
    }
  }
  return true;
}

void reset_all_pages() {
  for_each_known_page([](uintptr_t page, PageState& ps, void*) {
    ps.in.store(0);
    ps.out.store(0);
    ps.open.store(0);
    ps.gen.fetch_add(1);
    if (ps.applied.load() != ps.original.load()) {
      if (protect(page, kPageSize, ps.original.load()) == 0) ps.applied.store(ps.original.load());
    }
  }, nullptr);
}

}  // namespace zc::guard
