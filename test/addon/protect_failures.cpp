// Injected failures of the guard engine's protection changes (mprotect/pkey_mprotect), so
// tests can make the Nth change of an acquire or of a lift fail without exhausting the
// kernel. Installed through the engine's test seam (convergence.h), which nothing in the
// production addon sets and nothing reads from the environment. Counts every protection
// change of the process from the moment it is armed; the tests arm it around one
// operation with nothing else in flight.
#include <atomic>

#include "args.h"
#include "guard/convergence.h"
#include "test_helpers.h"

namespace zc::test_addon {
namespace {

std::atomic<int64_t> g_skip{0};    // changes still let through before the failures
std::atomic<int64_t> g_count{0};   // failures still to inject
std::atomic<int> g_errno{0};
std::atomic<int64_t> g_seen{0};    // changes seen since armed
std::atomic<int64_t> g_failed{0};  // changes failed since armed

// Async-signal-safe: atomics only (the fault handler's changes come here too).
int Intercept(uintptr_t, size_t, int, int) {
  g_seen.fetch_add(1);
  int64_t skip = g_skip.load();
  while (skip > 0) {
    if (g_skip.compare_exchange_weak(skip, skip - 1)) return 0;
  }
  int64_t left = g_count.load();
  while (left > 0) {
    if (g_count.compare_exchange_weak(left, left - 1)) {
      g_failed.fetch_add(1);
      return g_errno.load();
    }
  }
  return 0;
}

// injectProtectFailures(skip, count, errno): the next `skip` protection changes go
// through, the `count` after them fail with `errno`; later ones go through again.
Napi::Value InjectProtectFailures(const Napi::CallbackInfo& info) {
  const int skip = IntArg(info, 0, "skip");
  const int count = IntArg(info, 1, "count");
  const int error = IntArg(info, 2, "errno");
  if (skip < 0 || count < 0 || error <= 0) throw Napi::RangeError::New(info.Env(), "skip and count must be >= 0 and errno > 0");
  zc::guard::set_protect_interceptor(nullptr);
  g_seen.store(0);
  g_failed.store(0);
  g_errno.store(error);
  g_skip.store(skip);
  g_count.store(count);
  zc::guard::set_protect_interceptor(Intercept);
  return info.Env().Undefined();
}

// protectFailureCounts() -> { seen, failed } since the last injectProtectFailures.
Napi::Value ProtectFailureCounts(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("seen", Napi::Number::New(info.Env(), static_cast<double>(g_seen.load())));
  o.Set("failed", Napi::Number::New(info.Env(), static_cast<double>(g_failed.load())));
  return o;
}

// clearProtectFailures(): every later change reaches the kernel, none is counted.
Napi::Value ClearProtectFailures(const Napi::CallbackInfo& info) {
  zc::guard::set_protect_interceptor(nullptr);
  g_skip.store(0);
  g_count.store(0);
  return info.Env().Undefined();
}

}  // namespace

void RegisterProtectFailures(Napi::Env env, Napi::Object exports) {
  exports.Set("injectProtectFailures", Napi::Function::New(env, InjectProtectFailures));
  exports.Set("protectFailureCounts", Napi::Function::New(env, ProtectFailureCounts));
  exports.Set("clearProtectFailures", Napi::Function::New(env, ClearProtectFailures));
}

}  // namespace zc::test_addon
