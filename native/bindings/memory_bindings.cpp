// alloc(bytes) -> ArrayBuffer over a registered, double-mapped block (comm.alloc builds
// its typed arrays on these). The block is unmapped when the ArrayBuffer is collected;
// the runtime keeps in-flight views reachable, so that cannot happen mid-transfer.
#include <string>

#include "bindings/buffer_view.h"
#include "bindings/registry.h"
#include "memory/arena.h"

namespace zc::bindings {
namespace {

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "bytes must be a number");
  double bytes = info[0].As<Napi::Number>().DoubleValue();
  if (!(bytes >= 1) || bytes > 1e15 || bytes != static_cast<double>(static_cast<uint64_t>(bytes)))
    throw Napi::RangeError::New(env, "bytes must be a positive integer");
  zc::memory::Block b;
  char err[256] = "";
  if (!zc::memory::alloc(static_cast<size_t>(bytes), &b, err, sizeof err))
    throw Napi::Error::New(env, std::string("zcmpi: alloc failed: ") + err);
  return Napi::ArrayBuffer::New(env, b.program, static_cast<size_t>(bytes),
                                [](Napi::Env, void* data) { zc::memory::free(data); });
}

Napi::Value HasDeviceView(const Napi::CallbackInfo& info) {
  ByteRange r;
  std::string err;
  if (!GetByteRange(info[0], "view", &r, &err)) throw Napi::TypeError::New(info.Env(), err);
  return Napi::Boolean::New(info.Env(), zc::memory::device_address(r.data, r.length ? r.length : 1) != nullptr);
}

}  // namespace

void RegisterMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("alloc", Napi::Function::New(env, Alloc));
  exports.Set("hasDeviceView", Napi::Function::New(env, HasDeviceView));
}

}  // namespace zc::bindings
