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

bool Registrations::acquire(const void* addr, size_t len, MrRef* out, std::string* err) {
  *out = MrRef{};
  zc::memory::Block b;
  if (zc::memory::find_device_block(addr, len, &b)) {
    const uintptr_t base = reinterpret_cast<uintptr_t>(b.device);
    auto it = blocks_.find(base);
    if (it != blocks_.end() && it->second.size == b.size) {
      out->mr = it->second.mr;
      return true;
    }
    if (it != blocks_.end()) {  // cannot happen (the free listener drops it); never reuse it
      ibv_dereg_mr(it->second.mr);
      blocks_.erase(it);
    }
    ibv_mr* mr = ibv_reg_mr(pd_, b.device, b.size, kAccess);
    if (!mr) {
      *err = reg_error(b.size, errno);
      return false;
    }
    blocks_[base] = Cached{b.size, mr};
    out->mr = mr;
    return true;
  }
  ibv_mr* mr = ibv_reg_mr(pd_, const_cast<void*>(addr), len ? len : 1, kAccess);
  if (!mr) {
    *err = reg_error(len, errno);
    return false;
  }
  per_op_++;
  out->mr = mr;
  out->owned = true;
  return true;
}

void Registrations::release(MrRef* ref) {
  if (ref->mr && ref->owned) ibv_dereg_mr(ref->mr);
  *ref = MrRef{};
}

void Registrations::block_freed(const zc::memory::Block& b) {
  auto it = blocks_.find(reinterpret_cast<uintptr_t>(b.device));
  if (it == blocks_.end()) return;
  ibv_dereg_mr(it->second.mr);
  blocks_.erase(it);
}

void Registrations::clear() {
  for (auto& kv : blocks_) ibv_dereg_mr(kv.second.mr);
  blocks_.clear();
}

}  // namespace zc::transport::verbs
