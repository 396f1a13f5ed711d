#include "transports/verbs/registration.h"

#include <cerrno>
#include <cstring>

namespace zc::transport::verbs {

namespace {

std::string reg_error(size_t len, int e) {
  std::string m = "registering " + std::to_string(len) + " bytes with the RDMA device failed: " + std::strerror(e);
  if (e == ENOMEM || e == EPERM)
    m += " (the locked-memory limit is probably too low: raise it with `ulimit -l unlimited` or in limits.conf)";
  return m;
}

}  // namespace

ibv_mr* Registrations::reg(void* addr, size_t len, std::string* err) {
  ibv_mr* mr = ibv_reg_mr(pd_, addr, len, kAccess);
  if (!mr) *err = reg_error(len, errno);
  return mr;
}

void Registrations::drop(std::map<uintptr_t, Cached>& cache, const void* base) {
  std::lock_guard<std::mutex> g(mutex_);
  auto it = cache.find(reinterpret_cast<uintptr_t>(base));
  if (it == cache.end()) return;
  ibv_dereg_mr(it->second.mr);
  cache.erase(it);
}

bool Registrations::cached(std::map<uintptr_t, Cached>& cache, void* base, size_t size, MrRef* out, std::string* err) {
  const uintptr_t key = reinterpret_cast<uintptr_t>(base);
  auto it = cache.find(key);
  if (it != cache.end() && it->second.size == size) {
    out->mr = it->second.mr;
    return true;
  }
  if (it != cache.end()) {  // cannot happen (the unmap listeners drop it); never reuse it
    ibv_dereg_mr(it->second.mr);
    cache.erase(it);
  }
  ibv_mr* mr = reg(base, size, err);
  if (!mr) return false;
  cache[key] = Cached{size, mr};
  cached_made_++;
  out->mr = mr;
  return true;
}

bool Registrations::acquire(const void* addr, size_t len, MrRef* out, std::string* err) {
  *out = MrRef{};
  std::lock_guard<std::mutex> g(mutex_);
  zc::memory::Block b;
  if (zc::memory::find_device_block(addr, len, &b)) return cached(blocks_, b.device, b.size, out, err);
  zc::memory::StagingRegion r;
  if (zc::memory::find_staging(addr, len ? len : 1, &r)) return cached(staging_, r.base, r.size, out, err);
  ibv_mr* mr = reg(const_cast<void*>(addr), len ? len : 1, err);
  if (!mr) return false;
  per_op_++;
  out->mr = mr;
  out->owned = true;
  return true;
}

void Registrations::release(MrRef* ref) {
  if (ref->mr && ref->owned) ibv_dereg_mr(ref->mr);
  *ref = MrRef{};
}

void Registrations::block_freed(const zc::memory::Block& b) { drop(blocks_, b.device); }

void Registrations::staging_unmapped(const zc::memory::StagingRegion& r) { drop(staging_, r.base); }

Registrations::Counts Registrations::counts() const {
  std::lock_guard<std::mutex> g(mutex_);
  return Counts{cached_made_, per_op_};
}

void Registrations::clear() {
  std::lock_guard<std::mutex> g(mutex_);
  for (auto& kv : blocks_) ibv_dereg_mr(kv.second.mr);
  blocks_.clear();
  for (auto& kv : staging_) ibv_dereg_mr(kv.second.mr);
  staging_.clear();
}

}  // namespace zc::transport::verbs
