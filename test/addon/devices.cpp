// Native threads standing in for a device, so guard semantics are tested apart from any
// transport: they release a guard, or write the bytes and then release, after a delay.
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "args.h"
#include "guard/guard.h"
#include "memory/arena.h"
#include "test_helpers.h"

namespace zc::test_addon {
namespace {

using zc::guard::GuardId;

// guardReleaseAfter(id, ms): releases the guard after `ms`.
Napi::Value GuardReleaseAfter(const Napi::CallbackInfo& info) {
  GuardId id = IntArg(info, 0, "id");
  int ms = IntArg(info, 1, "ms");
  std::thread([id, ms] {
    zc::guard::mark_transport_thread("test-device");
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    zc::guard::release(id);
  }).detach();
  return info.Env().Undefined();
}

// deviceFillAndRelease(view, value, id, ms): writes `value` into every byte of the view
// after `ms` (through the device view for registered memory, through /proc/self/mem for
// plain memory), then releases.
Napi::Value DeviceFillAndRelease(const Napi::CallbackInfo& info) {
  zc::bindings::ByteRange r = RangeArg(info, 0, "view");
  int value = IntArg(info, 1, "value");
  GuardId id = IntArg(info, 2, "id");
  int ms = IntArg(info, 3, "ms");
  void* dev = zc::memory::device_address(r.data, r.length);
  std::thread([r, dev, value, id, ms] {
    zc::guard::mark_transport_thread("test-device");
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    if (dev) {
      memset(dev, value, r.length);
    } else {
      std::string bytes(r.length, static_cast<char>(value));
      zc::memory::write_through(r.data, bytes.data(), r.length);
    }
    zc::guard::release(id);
  }).detach();
  return info.Env().Undefined();
}

}  // namespace

void RegisterDevices(Napi::Env env, Napi::Object exports) {
  exports.Set("guardReleaseAfter", Napi::Function::New(env, GuardReleaseAfter));
  exports.Set("deviceFillAndRelease", Napi::Function::New(env, DeviceFillAndRelease));
}

}  // namespace zc::test_addon
