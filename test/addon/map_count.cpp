// Fills the process's mapping count up to vm.max_map_count, as a program with very many
// mappings would: one large anonymous region whose pages get alternating protections, one
// mprotect per page, until the kernel refuses the next split (ENOMEM). The next guard that
// must split a mapping then fails the same way. Released as one munmap (the whole region,
// so no split is needed to free it).
#include <sys/mman.h>

#include <cerrno>

#include "args.h"
#include "test_helpers.h"

namespace zc::test_addon {
namespace {

constexpr size_t kPage = 4096;
void* g_region = nullptr;
size_t g_region_bytes = 0;

// fillMapCount(maxPages) -> { mappings, errno }: mappings added, and the errno that
// stopped it (ENOMEM at the limit; 0 if maxPages ran out first).
Napi::Value FillMapCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (g_region) throw Napi::Error::New(env, "fillMapCount: already filled (call releaseMapCount first)");
  const int max_pages = IntArg(info, 0, "maxPages");
  if (max_pages < 2) throw Napi::RangeError::New(env, "maxPages must be at least 2");
  g_region_bytes = static_cast<size_t>(max_pages) * kPage;
  void* p = mmap(nullptr, g_region_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw Napi::Error::New(env, "fillMapCount: mmap of the region failed");
  g_region = p;
  int stopped = 0;
  int64_t added = 0;
  // Every other page read-only: each mprotect splits one more mapping off the region.
  for (int i = 0; i + 1 < max_pages; i += 2) {
    if (mprotect(static_cast<char*>(p) + static_cast<size_t>(i) * kPage, kPage, PROT_READ) != 0) {
      stopped = errno;
      break;
    }
    added++;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("mappings", Napi::Number::New(env, static_cast<double>(added)));
  o.Set("errno", Napi::Number::New(env, stopped));
  return o;
}

Napi::Value ReleaseMapCount(const Napi::CallbackInfo& info) {
  if (g_region) munmap(g_region, g_region_bytes);
  g_region = nullptr;
  return info.Env().Undefined();
}

}  // namespace

void RegisterMapCount(Napi::Env env, Napi::Object exports) {
  exports.Set("fillMapCount", Napi::Function::New(env, FillMapCount));
  exports.Set("releaseMapCount", Napi::Function::New(env, ReleaseMapCount));
}

}  // namespace zc::test_addon
