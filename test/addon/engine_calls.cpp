// The guard engine driven directly, without a transport: the guard tests initialize it and
// acquire and release guards themselves (the runtime does all of that through commCreate
// and its requests).
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "args.h"
#include "guard/guard.h"
#include "memory/arena.h"
#include "test_helpers.h"

namespace zc::test_addon {
namespace {

using zc::guard::Direction;
using zc::guard::GuardId;

// The libuv pool threads usually exist before the engine does (Node's loader uses them at
// startup): each needs an alternate stack and the guard keys, or fs.write from a send
// buffer fails with EFAULT there. Done once, at the first guardInit (the runtime does it
// with prepareThreadPool), on UV_THREADPOOL_SIZE workers (libuv's default 4).
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

// guardAcquire(view, 'out'|'in', {peer, tag, requestId, stack}?) -> id (-1: none)
Napi::Value GuardAcquire(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  zc::bindings::ByteRange r = RangeArg(info, 0, "view");
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

Napi::Value GuardReleaseAll(const Napi::CallbackInfo& info) {
  zc::guard::release_all();
  return info.Env().Undefined();
}

Napi::Value GuardSetRank(const Napi::CallbackInfo& info) {
  zc::guard::set_rank_for_reports(IntArg(info, 0, "rank"));
  return info.Env().Undefined();
}

// viewAddress(view) -> bigint: the address of the view's first byte (to look its page up
// in /proc/self/smaps).
Napi::Value ViewAddress(const Napi::CallbackInfo& info) {
  zc::bindings::ByteRange r = RangeArg(info, 0, "view");
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(reinterpret_cast<uintptr_t>(r.data)));
}

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  zc::memory::Stats s = zc::memory::stats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("blocks", Napi::Number::New(info.Env(), static_cast<double>(s.blocks)));
  o.Set("bytesMapped", Napi::Number::New(info.Env(), static_cast<double>(s.bytes_mapped)));
  o.Set("hugeAlignedBlocks", Napi::Number::New(info.Env(), static_cast<double>(s.huge_aligned_blocks)));
  return o;
}

}  // namespace

void RegisterEngineCalls(Napi::Env env, Napi::Object exports) {
  exports.Set("guardInit", Napi::Function::New(env, GuardInit));
  exports.Set("guardAcquire", Napi::Function::New(env, GuardAcquire));
  exports.Set("guardRelease", Napi::Function::New(env, GuardRelease));
  exports.Set("guardIsActive", Napi::Function::New(env, GuardIsActive));
  exports.Set("guardReleaseAll", Napi::Function::New(env, GuardReleaseAll));
  exports.Set("guardSetRank", Napi::Function::New(env, GuardSetRank));
  exports.Set("viewAddress", Napi::Function::New(env, ViewAddress));
  exports.Set("memoryStats", Napi::Function::New(env, MemoryStats));
}

}  // namespace zc::test_addon
