// The guard engine's JavaScript surface as the runtime uses it: statistics, the mechanism
// in use, the long-wait note and the thread pool's alternate stacks (commCreate initializes
// the engine). Driving the engine directly (guardInit, acquire/release, stand-in devices,
// fork, deliberate crashes) is for tests only and lives in the test addon (test/addon/).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include <ucs/debug/debug.h>

#include "bindings/registry.h"
#include "guard/futex_trap.h"
#include "guard/guard.h"
#include "guard/rep_string_emulation.h"
#include "guard/signal_mask_trap.h"

namespace zc::bindings {
namespace {

int32_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

Napi::Value GuardStats(const Napi::CallbackInfo& info) {
  zc::guard::Stats s = zc::guard::stats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("guardsAcquired", Napi::Number::New(info.Env(), static_cast<double>(s.guards_acquired)));
  o.Set("faultsWaited", Napi::Number::New(info.Env(), static_cast<double>(s.faults_waited)));
  o.Set("faultsLifted", Napi::Number::New(info.Env(), static_cast<double>(s.faults_lifted)));
  o.Set("faultsCollateral", Napi::Number::New(info.Env(), static_cast<double>(s.faults_collateral)));
  o.Set("strictReports", Napi::Number::New(info.Env(), static_cast<double>(s.strict_reports)));
  o.Set("mprotectCalls", Napi::Number::New(info.Env(), static_cast<double>(s.mprotect_calls)));
  o.Set("activeGuards", Napi::Number::New(info.Env(), static_cast<double>(s.active_guards)));
  // System calls the seccomp trap made again for the program (futex_trap.h, signal_mask_trap.h).
  o.Set("futexCallsRedone", Napi::Number::New(info.Env(), static_cast<double>(zc::guard::futex_calls_trapped())));
  // Bytes of rep movs/stos the fault handler stored itself (rep_string_emulation.h).
  o.Set("stringBytesEmulated", Napi::Number::New(info.Env(), static_cast<double>(zc::guard::rep_string_bytes_emulated())));
  o.Set("signalMaskCallsRedone", Napi::Number::New(info.Env(), static_cast<double>(zc::guard::signal_mask_calls_trapped())));
  return o;
}

// How guarded pages are protected: "protection keys ..." or "mprotect (...)".
Napi::Value GuardMechanism(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), zc::guard::protection_mechanism());
}

Napi::Value GuardSetLongWaitMs(const Napi::CallbackInfo& info) {
  zc::guard::set_long_wait_ms(static_cast<uint32_t>(IntArg(info, 0, "ms")));
  return info.Env().Undefined();
}

// Gives every libuv thread-pool worker an alternate signal stack: thread-pool work (fs,
// crypto, zlib) may touch a guarded buffer and fault there. Each of `n` jobs waits until
// all n are running, so they land on n distinct workers (bounded, so it never hangs).
class AltStackWorker : public Napi::AsyncWorker {
 public:
  AltStackWorker(Napi::Env env, std::shared_ptr<std::atomic<int>> arrived, int n, Napi::Promise::Deferred d)
      : Napi::AsyncWorker(env), arrived_(std::move(arrived)), n_(n), deferred_(d) {}
  void Execute() override {
    zc::guard::ensure_alt_stack();
    arrived_->fetch_add(1);
    for (int i = 0; i < 2000 && arrived_->load() < n_; i++) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }

 private:
  std::shared_ptr<std::atomic<int>> arrived_;
  int n_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value PrepareThreadPool(const Napi::CallbackInfo& info) {
  int n = IntArg(info, 0, "threads");
  auto arrived = std::make_shared<std::atomic<int>>(0);
  Napi::Array promises = Napi::Array::New(info.Env(), n);
  for (int i = 0; i < n; i++) {
    auto d = Napi::Promise::Deferred::New(info.Env());
    (new AltStackWorker(info.Env(), arrived, n, d))->Queue();
    promises.Set(i, d.Promise());
  }
  return promises;
}

}  // namespace

void RegisterGuard(Napi::Env env, Napi::Object exports) {
  // UCX's SIGSEGV/SIGBUS handlers (installed when libucs loads, unless UCX_ERROR_SIGNALS
  // was set, as runtime/ucx-env.ts does) print a backtrace and kill the process, so a
  // WebAssembly out-of-bounds trap chained to them would crash. For programs that load the
  // addon directly, give the signals back to the handlers that were there before UCX,
  // unless the user asked for UCX's handlers explicitly.
  if (getenv("UCX_ERROR_SIGNALS") == nullptr) {
    for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE}) ucs_debug_disable_signal(sig);
  }
  exports.Set("guardStats", Napi::Function::New(env, GuardStats));
  exports.Set("guardMechanism", Napi::Function::New(env, GuardMechanism));
  exports.Set("guardSetLongWaitMs", Napi::Function::New(env, GuardSetLongWaitMs));
  exports.Set("prepareThreadPool", Napi::Function::New(env, PrepareThreadPool));
}

}  // namespace zc::bindings
