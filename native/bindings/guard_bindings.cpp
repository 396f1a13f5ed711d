// The guard engine's JavaScript surface. The runtime uses guardInit/guardStats; the test
// suite drives the engine directly through the rest, with native threads standing in for
// a device (guardReleaseAfter, deviceFillAndRelease) so guard semantics are tested apart
// from any transport.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include <ucs/debug/debug.h>

#include "bindings/buffer_view.h"
#include "bindings/registry.h"
#include "guard/guard.h"
#include "memory/arena.h"

namespace zc::bindings {
namespace {

using zc::guard::Direction;
using zc::guard::GuardId;

ByteRange RangeArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  ByteRange r;
  std::string err;
  if (!GetByteRange(info[i], name, &r, &err)) throw Napi::TypeError::New(info.Env(), err);
  return r;
}

int32_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

void PrepareThreadPoolOnce(Napi::Env env);

Napi::Value GuardInit(const Napi::CallbackInfo& info) {
  std::string m = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  zc::guard::Mode mode;
  if (m == "off") mode = zc::guard::Mode::Off;
  else if (m == "block") mode = zc::guard::Mode::Block;
  else if (m == "strict") mode = zc::guard::Mode::Strict;
  else throw Napi::TypeError::New(info.Env(), "guard mode must be 'block', 'strict' or 'off' (got '" + m + "')");
  char err[256] = "";
  if (!zc::guard::init(mode, err, sizeof err)) throw Napi::Error::New(info.Env(), std::string("zcmpi: guard init failed: ") + err);
  if (mode != zc::guard::Mode::Off) PrepareThreadPoolOnce(info.Env());
  return info.Env().Undefined();
}

// guardAcquire(view, 'out'|'in', {call, peer, tag, requestId, stack}?) -> id (-1: none)
Napi::Value GuardAcquire(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteRange r = RangeArg(info, 0, "view");
  std::string d = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  if (d != "in" && d != "out") throw Napi::TypeError::New(env, "direction must be 'in' or 'out'");
  zc::guard::RequestInfo ri;
  ri.call = d == "in" ? "irecv" : "isend";
  ri.bytes = r.length;
  std::string stack;
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    if (o.Get("peer").IsNumber()) ri.peer = o.Get("peer").As<Napi::Number>().Int32Value();
    if (o.Get("tag").IsNumber()) ri.tag = o.Get("tag").As<Napi::Number>().Int64Value();
    if (o.Get("requestId").IsNumber()) ri.request_id = o.Get("requestId").As<Napi::Number>().Int64Value();
    if (o.Get("stack").IsString()) stack = o.Get("stack").As<Napi::String>().Utf8Value();
  }
  bool failed = false;
  char err[256] = "";
  GuardId id = zc::guard::acquire(r.data, r.length, d == "in" ? Direction::Inbound : Direction::Outbound, ri,
                                  stack.empty() ? nullptr : stack.c_str(), &failed, err, sizeof err);
  if (failed) throw Napi::Error::New(env, std::string("zcmpi: cannot guard view: ") + err);
  return Napi::Number::New(env, id);
}

Napi::Value GuardRelease(const Napi::CallbackInfo& info) {
  zc::guard::release(IntArg(info, 0, "id"));
  return info.Env().Undefined();
}

Napi::Value GuardIsActive(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), zc::guard::is_active(IntArg(info, 0, "id")));
}

// A native thread standing in for a device: releases the guard after `ms`.
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

// A device that writes `value` into every byte of the view after `ms` (through the device
// view for registered memory, through /proc/self/mem for plain memory), then releases.
Napi::Value DeviceFillAndRelease(const Napi::CallbackInfo& info) {
  ByteRange r = RangeArg(info, 0, "view");
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

Napi::Value GuardReleaseAll(const Napi::CallbackInfo& info) {
  zc::guard::release_all();
  return info.Env().Undefined();
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

Napi::Value GuardSetRank(const Napi::CallbackInfo& info) {
  zc::guard::set_rank_for_reports(IntArg(info, 0, "rank"));
  return info.Env().Undefined();
}

// Native code touching a view (as Buffer methods or addons do): memset / byte sum.
Napi::Value NativeFill(const Napi::CallbackInfo& info) {
  ByteRange r = RangeArg(info, 0, "view");
  memset(r.data, IntArg(info, 1, "value"), r.length);
  return info.Env().Undefined();
}

Napi::Value NativeSum(const Napi::CallbackInfo& info) {
  ByteRange r = RangeArg(info, 0, "view");
  const volatile unsigned char* p = static_cast<const unsigned char*>(r.data);
  double sum = 0;
  for (size_t i = 0; i < r.length; i++) sum += p[i];
  return Napi::Number::New(info.Env(), sum);
}

// The same from a thread that is not the JS thread (a thread-pool worker); joins it.
Napi::Value ThreadTouch(const Napi::CallbackInfo& info) {
  ByteRange r = RangeArg(info, 0, "view");
  bool write = info[1].ToBoolean();
  int value = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 0;
  double sum = 0;
  std::thread t([&] {
    zc::guard::ensure_alt_stack();
    if (write) memset(r.data, value, r.length);
    const volatile unsigned char* p = static_cast<const unsigned char*>(r.data);
    for (size_t i = 0; i < r.length; i++) sum += p[i];
  });
  t.join();
  return Napi::Number::New(info.Env(), sum);
}

// fork(): the child writes to the view (it must hold no guards) and exits 0 on success.
Napi::Value ForkChildWrites(const Napi::CallbackInfo& info) {
  ByteRange r = RangeArg(info, 0, "view");
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    memset(r.data, 0x5a, r.length);
    _exit(static_cast<unsigned char*>(r.data)[0] == 0x5a ? 0 : 3);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return Napi::Number::New(info.Env(), 128 + WTERMSIG(status));
  return Napi::Number::New(info.Env(), WEXITSTATUS(status));
}

// A genuine bug: a write through a null pointer. Must still end the process with SIGSEGV.
Napi::Value SegfaultForTest(const Napi::CallbackInfo& info) {
  volatile int* p = reinterpret_cast<volatile int*>(static_cast<uintptr_t>(IntArg(info, 0, "address")));
  *p = 42;
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

// The libuv pool threads usually exist before the engine does (Node's loader uses them at
// startup): each needs an alternate stack and the guard keys, or fs.write from a send
// buffer fails with EFAULT there. Done once, at the first init, on UV_THREADPOOL_SIZE
// workers (libuv's default 4).
class PoolPrepareWorker : public Napi::AsyncWorker {
 public:
  PoolPrepareWorker(Napi::Env env, std::shared_ptr<std::atomic<int>> arrived, int n)
      : Napi::AsyncWorker(env), arrived_(std::move(arrived)), n_(n) {}
  void Execute() override {
    zc::guard::ensure_alt_stack();
    arrived_->fetch_add(1);
    for (int i = 0; i < 2000 && arrived_->load() < n_; i++) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

 private:
  std::shared_ptr<std::atomic<int>> arrived_;
  int n_;
};

void PrepareThreadPoolOnce(Napi::Env env) {
  static bool done = false;
  if (done) return;
  done = true;
  const char* size = getenv("UV_THREADPOOL_SIZE");
  int n = size ? atoi(size) : 4;
  if (n < 1) n = 4;
  if (n > 1024) n = 1024;  // libuv's own cap
  auto arrived = std::make_shared<std::atomic<int>>(0);
  for (int i = 0; i < n; i++) (new PoolPrepareWorker(env, arrived, n))->Queue();
}

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
  exports.Set("guardInit", Napi::Function::New(env, GuardInit));
  exports.Set("guardAcquire", Napi::Function::New(env, GuardAcquire));
  exports.Set("guardRelease", Napi::Function::New(env, GuardRelease));
  exports.Set("guardIsActive", Napi::Function::New(env, GuardIsActive));
  exports.Set("guardReleaseAfter", Napi::Function::New(env, GuardReleaseAfter));
  exports.Set("deviceFillAndRelease", Napi::Function::New(env, DeviceFillAndRelease));
  exports.Set("guardReleaseAll", Napi::Function::New(env, GuardReleaseAll));
  exports.Set("guardStats", Napi::Function::New(env, GuardStats));
  exports.Set("guardMechanism", Napi::Function::New(env, GuardMechanism));
  exports.Set("guardSetLongWaitMs", Napi::Function::New(env, GuardSetLongWaitMs));
  exports.Set("guardSetRank", Napi::Function::New(env, GuardSetRank));
  exports.Set("nativeFill", Napi::Function::New(env, NativeFill));
  exports.Set("nativeSum", Napi::Function::New(env, NativeSum));
  exports.Set("threadTouch", Napi::Function::New(env, ThreadTouch));
  exports.Set("forkChildWrites", Napi::Function::New(env, ForkChildWrites));
  exports.Set("prepareThreadPool", Napi::Function::New(env, PrepareThreadPool));
  exports.Set("segfaultForTest", Napi::Function::New(env, SegfaultForTest));
}

}  // namespace zc::bindings
