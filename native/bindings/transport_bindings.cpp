// The communicator's JavaScript surface (runtime/native.ts declares the same functions).
//
// One engine per process, like MPI_Init. The hot paths (post, poll, wait) take plain
// numbers and a buffer and return numbers; request status travels through external
// ArrayBuffers that JavaScript reads directly (protocol/status_layout.h).
#include <v8.h>

#include <dirent.h>
#include <sched.h>
#include <cerrno>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bindings/buffer_view.h"
#include "bindings/hot_args.h"
#include "bindings/registry.h"
#include "guard/guard.h"
#include "protocol/engine.h"
#include "protocol/tag.h"
#include "guard/futex.h"

namespace zc::bindings {
namespace {

using zc::protocol::Engine;
using zc::protocol::PostResult;

// Never destroyed by a static destructor: at exit, UCX's own library destructors may run
// first. stop_at_exit() stops the progress thread instead (registered with atexit after UCX
// was loaded, so it runs before UCX's destructors).
Engine* g_engine = nullptr;
bool g_finalized = false;
Napi::ThreadSafeFunction g_notify;
bool g_notify_set = false;
bool g_loop_ref = false;

void stop_at_exit() {
  if (g_engine) g_engine->shutdown_quick();
}

Engine& Live(Napi::Env env) {
  if (g_finalized) throw CodedError(env, "ERR_FINALIZED", "zcmpi: the communicator has been finalized");
  if (!g_engine) throw CodedError(env, "ERR_NOT_INITIALIZED", "zcmpi: init() has not been called");
  return *g_engine;
}

double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw CodedError(info.Env(), "ERR_ARG", std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

// A request-table slot number, checked against the table.
uint32_t CheckedSlot(Napi::Env env, double v) {
  if (!(v >= 0) || v >= double(g_engine->table().capacity()) || v != double(uint32_t(v)))
    throw CodedError(env, "ERR_ARG", "slot out of range");
  return uint32_t(v);
}

uint32_t SlotArg(const Napi::CallbackInfo& info, size_t i) { return CheckedSlot(info.Env(), NumberArg(info, i, "slot")); }

Napi::ArrayBuffer External(Napi::Env env, void* data, size_t bytes) {
  // Owned by the engine (which lives until exit): no finalizer frees it.
  return Napi::ArrayBuffer::New(env, data, bytes);
}

// Binds every thread of this process (those that exist: V8's and libuv's; later ones inherit
// the creating thread's mask) to the index-th CPU of the process's allowed set.
bool BindProcessToCpu(int index, std::string* err) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
    *err = std::string("sched_getaffinity: ") + std::strerror(errno);
    return false;
  }
  int cpu = -1;
  for (int i = 0, seen = 0; i < CPU_SETSIZE; i++) {
    if (!CPU_ISSET(i, &allowed)) continue;
    if (seen++ == index) {
      cpu = i;
      break;
    }
  }
  if (cpu < 0) {
    *err = "fewer allowed CPUs than local ranks";
    return false;
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  DIR* d = opendir("/proc/self/task");
  if (!d) {
    *err = std::string("/proc/self/task: ") + std::strerror(errno);
    return false;
  }
  bool ok = true;
  while (dirent* ent = readdir(d)) {
    if (ent->d_name[0] == '.') continue;
    const pid_t tid = pid_t(std::atoi(ent->d_name));
    // A thread that ended meanwhile (ESRCH) needs no binding.
    if (sched_setaffinity(tid, sizeof(one), &one) != 0 && errno != ESRCH) {
      *err = std::string("sched_setaffinity: ") + std::strerror(errno);
      ok = false;
    }
  }
  closedir(d);
  return ok;
}

// commCreate({rank, size, guard, transport, progressSpinUs, capacity, eagerCopyMax})
Napi::Value CommCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (g_finalized) throw CodedError(env, "ERR_FINALIZED", "zcmpi: init() after finalize() is not supported");
  if (g_engine) throw CodedError(env, "ERR_INITIALIZED", "zcmpi: init() has already been called in this process");
  if (!info[0].IsObject()) throw CodedError(env, "ERR_ARG", "options must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  zc::protocol::EngineConfig c;
  auto num = [&](const char* key, double fallback) {
    Napi::Value v = o.Get(key);
    return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
  };
  c.rank = int(num("rank", 0));
  c.size = int(num("size", 1));
  c.progress_spin_us = uint32_t(num("progressSpinUs", 20));
  c.progress_grace_us = uint32_t(num("progressGraceUs", 500));
  c.capacity = uint32_t(num("capacity", 1 << 20));
  c.eager_copy_max = size_t(num("eagerCopyMax", 8192));
  c.guarded_copy_max = size_t(num("guardedCopyMax", 8192));
  c.yield_when_idle = o.Get("yieldWhenIdle").ToBoolean();
  c.busy_poll_ns = uint64_t(num("busyPollUs", 50) * 1000);
  const int bind_index = int(num("bindCpuIndex", -1));
  c.ucx_peer_errors = o.Get("ucxPeerErrors").ToBoolean().Value();
  c.single_copy_min = size_t(num("singleCopyMin", 65536));
  std::string guard = o.Get("guard").IsString() ? o.Get("guard").As<Napi::String>().Utf8Value() : "block";
  if (guard == "off") c.guard_mode = zc::guard::Mode::Off;
  else if (guard == "strict") c.guard_mode = zc::guard::Mode::Strict;
  else if (guard == "block") c.guard_mode = zc::guard::Mode::Block;
  else throw CodedError(env, "ERR_ARG", "guard must be 'block', 'strict' or 'off' (got '" + guard + "')");
  c.transport = o.Get("transport").IsString() ? o.Get("transport").As<Napi::String>().Utf8Value() : "auto";
  if (o.Get("rdmaDevice").IsString()) c.rdma_device = o.Get("rdmaDevice").As<Napi::String>().Utf8Value();
  if (o.Get("rdmaGid").IsString()) c.rdma_gid = o.Get("rdmaGid").As<Napi::String>().Utf8Value();
  c.verbs_eager_max = size_t(num("verbsEagerMax", 0));
  c.verbs_peer_timeout_s = num("verbsPeerTimeoutS", 15);
  if (o.Get("verbsInjectQpError").IsString()) c.verbs_inject_qp_error = o.Get("verbsInjectQpError").As<Napi::String>().Utf8Value();
  // The wire tag's source field bounds the job size (protocol/tag.h).
  if (c.size < 1 || c.size > zc::protocol::kMaxRanks || c.rank < 0 || c.rank >= c.size)
    throw CodedError(env, "ERR_ARG", "rank/size out of range (at most " + std::to_string(zc::protocol::kMaxRanks) + " ranks)");

  std::string err;
  // Before the engine starts UCX's and the progress thread: threads inherit the binding.
  if (bind_index >= 0 && !BindProcessToCpu(bind_index, &err))
    throw CodedError(env, "ERR_BIND", "zcmpi: binding the rank to a CPU (ZCMPI_BIND=core) failed: " + err);
  std::unique_ptr<Engine> e = Engine::create(c, &err);
  if (!e) {
    const bool unavailable = c.transport == "verbs";
    throw CodedError(env, unavailable ? "ERR_TRANSPORT_UNAVAILABLE" : "ERR_TRANSPORT", "zcmpi: " + err);
  }
  // After UCX is up: UCX installs its own SIGSEGV handler, and ours must be in front of it
  // (chained), so guard faults reach us first and everything else reaches UCX as before.
  char gerr[256] = {0};
  if (!zc::guard::init(c.guard_mode, gerr, sizeof(gerr)))
    throw CodedError(env, "ERR_GUARD", std::string("zcmpi: the guard engine could not start: ") + gerr);
  zc::guard::set_rank_for_reports(c.rank);
  e->set_js_thread();
  g_engine = e.release();
  static bool registered = false;
  if (!registered) {
    registered = true;
    std::atexit(stop_at_exit);
  }

  zc::protocol::RequestTable& t = g_engine->table();
  Napi::Object out = Napi::Object::New(env);
  std::vector<uint8_t> addr = g_engine->address();
  out.Set("address", Napi::Buffer<uint8_t>::Copy(env, addr.data(), addr.size()));
  out.Set("transport", Napi::String::New(env, g_engine->transport().name()));
  out.Set("capacity", Napi::Number::New(env, t.capacity()));
  out.Set("status", External(env, t.status_base(), size_t(t.capacity()) * sizeof(zc::protocol::SlotStatus)));
  out.Set("header", External(env, t.header(), sizeof(zc::protocol::SharedHeader)));
  out.Set("drain", External(env, t.drain_buffer(), size_t(t.capacity()) * sizeof(int32_t)));
  return out;
}

// commConnect(addresses: Uint8Array[])
Napi::Value CommConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = Live(env);
  if (!info[0].IsArray()) throw CodedError(env, "ERR_ARG", "addresses must be an array");
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<std::vector<uint8_t>> addrs;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    ByteRange r;
    std::string err;
    if (!GetByteRange(arr.Get(i), "address", &r, &err)) throw CodedError(env, "ERR_ARG", err);
    auto* p = static_cast<uint8_t*>(r.data);
    addrs.emplace_back(p, p + r.length);
  }
  std::string err;
  if (!e.connect(addrs, &err)) throw CodedError(env, "ERR_TRANSPORT", "zcmpi: connecting ranks failed: " + err);
  return env.Undefined();
}

void CallNotify(Napi::Env env, Napi::Function fn) {
  // Cleared before draining: completions published from here on schedule a new call.
  if (g_engine) g_engine->table().header()->notify_pending.store(0, std::memory_order_release);
  fn.Call({});
}

void NotifyFromProgressThread(void*) {
  // Non-blocking: queues the call and pokes the event loop; never waits for JavaScript.
  g_notify.NonBlockingCall(CallNotify);
}

// commSetNotify(fn): fn() runs on the JS thread after completions were published.
Napi::Value CommSetNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = Live(env);
  if (!info[0].IsFunction()) throw CodedError(env, "ERR_ARG", "notify must be a function");
  if (g_notify_set) throw CodedError(env, "ERR_ARG", "notify is already set");
  g_notify = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "zcmpi-completions", 0, 1);
  g_notify.Unref(env);
  g_notify_set = true;
  // Environment teardown finalizes the thread-safe function; the progress thread must be
  // stopped before (hooks run in reverse order of registration, so this one runs first).
  napi_add_env_cleanup_hook(env, [](void*) { stop_at_exit(); }, nullptr);
  e.set_notifier(NotifyFromProgressThread, nullptr);
  return env.Undefined();
}

// commRefLoop(bool): keep the event loop alive while some request is awaited.
Napi::Value CommRefLoop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!g_notify_set) return env.Undefined();
  bool on = info[0].ToBoolean();
  if (on == g_loop_ref) return env.Undefined();
  g_loop_ref = on;
  if (on) g_notify.Ref(env);
  else g_notify.Unref(env);
  return env.Undefined();
}

Napi::Value PostOutcome(Napi::Env env, PostResult r, const std::string& err) {
  if (r == zc::protocol::kFailed) {
    const bool guard = err.find("guarded") != std::string::npos;
    throw CodedError(env, guard ? "ERR_GUARD" : "ERR_ARG", "zcmpi: " + err);
  }
  return Napi::Number::New(env, r);
}

// commIsend(slot, id, view, dest, tag, stack?, deferred?, comm?) -> 0 posted | 1 completed
// commIrecv(slot, id, view, source, tag, stack?, deferred?, comm?) -> 0 posted | 1 completed
// comm: the communicator's id (default 0, the world); dest/source are ranks in it.
// Once per message: arguments through HotArgs (hot_args.h).
template <size_t N>
uint32_t HotSlot(const HotArgs<N>& a, size_t i) {
  return CheckedSlot(a.env(), a.number(i, "slot"));
}

template <bool kSend>
napi_value CommPost(HotArgs<8>& a) {
  Napi::Env env = a.env();
  Engine& e = Live(env);
  uint32_t slot = HotSlot(a, 0);
  double id = a.number(1, "id");
  ByteRange r;
  std::string err;
  if (!a.bytes(2, "buf", &r, &err)) throw CodedError(env, "ERR_ARG", err);
  const double peer = a.number(3, kSend ? "dest" : "source");
  const double tag = a.number(4, "tag");
  std::string stack;
  const char* js_stack = a.string_or_null(5, &stack);
  const bool deferred = a.truthy(6);
  const uint32_t comm = a.comm_id(7);
  PostResult res = kSend ? e.isend(slot, uint64_t(id), r.data, r.length, int(peer), int32_t(tag), js_stack, deferred, &err, comm)
                         : e.irecv(slot, uint64_t(id), r.data, r.length, int32_t(peer), int64_t(tag), js_stack, deferred, &err, comm);
  // In flight: the program may now drop or detach the buffer; its memory stays until done
  // (strict mode: until the program observed the completion, which it has not yet).
  const bool strict = e.config().guard_mode == zc::guard::Mode::Strict;
  if (r.length > 0 && (res == zc::protocol::kPosted || (strict && res == zc::protocol::kCompleted)))
    e.keep_alive(slot, a.backing_store());
  return PostOutcome(env, res, err);
}

// commPostWait(isRecv, slot, id, view, peer, tag, stack, spinNs, comm?) -> 0 in flight | 1 completed
// The blocking send/recv in one call: post deferred (no guard), poll on this thread for up to
// spinNs, and only if the operation is still in flight then, guard it before returning (the
// program runs again after the call). One N-API crossing per message instead of three.
napi_value CommPostWait(HotArgs<9>& a) {
  Napi::Env env = a.env();
  Engine& e = Live(env);
  const bool is_recv = a.truthy(0);
  uint32_t slot = HotSlot(a, 1);
  double id = a.number(2, "id");
  ByteRange r;
  std::string err;
  if (!a.bytes(3, "buf", &r, &err)) throw CodedError(env, "ERR_ARG", err);
  const double peer = a.number(4, "peer");
  const double tag = a.number(5, "tag");
  std::string stack;
  const char* js_stack = a.string_or_null(6, &stack);
  const double spin = a.number(7, "spinNs");
  const uint32_t comm = a.comm_id(8);
  PostResult res = is_recv
      ? e.irecv(slot, uint64_t(id), r.data, r.length, int32_t(peer), int64_t(tag), js_stack, true, &err, comm)
      : e.isend(slot, uint64_t(id), r.data, r.length, int(peer), int32_t(tag), js_stack, true, &err, comm);
  if (res == zc::protocol::kPosted) {
    if (e.poll(slot, spin > 0 ? uint64_t(spin) : 0)) res = zc::protocol::kCompleted;
    else res = e.guard_now(slot, &err);
  }
  // Still in flight: the program runs again and may drop or detach the buffer (see CommPost).
  if (res == zc::protocol::kPosted && r.length > 0) e.keep_alive(slot, a.backing_store());
  // Completed inside the call: the caller returns the status, which is the program observing
  // it (strict mode may hold a guard that went on before the completion).
  if (res == zc::protocol::kCompleted && e.config().guard_mode == zc::guard::Mode::Strict) e.observed(uint64_t(id));
  return PostOutcome(env, res, err);
}

// commObserved(id): strict mode: the program observed request id's completion.
Napi::Value CommObserved(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (g_engine && !g_finalized) g_engine->observed(uint64_t(NumberArg(info, 0, "id")));
  return env.Undefined();
}

// commGuard(slot) -> 0 now guarded and in flight | 1 completed (a deferred send/recv)
Napi::Value CommGuard(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = Live(env);
  uint32_t slot = SlotArg(info, 0);
  std::string err;
  return PostOutcome(env, e.guard_now(slot, &err), err);
}

// commBarrier(slot, id) -> 0 posted | 1 completed
Napi::Value CommBarrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = Live(env);
  uint32_t slot = SlotArg(info, 0);
  std::string err;
  PostResult res = e.barrier(slot, uint64_t(NumberArg(info, 1, "id")), &err);
  return PostOutcome(env, res, err);
}

// commPoll(slot, spinNs) -> done?
napi_value CommPoll(HotArgs<2>& a) {
  Napi::Env env = a.env();
  Engine& e = Live(env);
  uint32_t slot = HotSlot(a, 0);
  double spin = a.number(1, "spinNs");
  return Napi::Boolean::New(env, e.poll(slot, spin > 0 ? uint64_t(spin) : 0));
}

// commWait(slot, spinNs): returns when the slot is done.
Napi::Value CommWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = Live(env);
  uint32_t slot = SlotArg(info, 0);
  double spin = NumberArg(info, 1, "spinNs");
  e.wait(slot, spin > 0 ? uint64_t(spin) : 0);
  return env.Undefined();
}

// commProgress(spinNs): progress on this thread until an event or spinNs passes.
Napi::Value CommProgress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = Live(env);
  double spin = NumberArg(info, 0, "spinNs");
  e.progress_for(spin > 0 ? uint64_t(spin) : 0);
  return env.Undefined();
}

// commDrain() -> n: the first n entries of the drain buffer are completed slots.
Napi::Value CommDrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!g_engine) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, double(g_engine->table().drain()));
}

Napi::Value CommErrorMessage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!g_engine) return Napi::String::New(env, "");
  return Napi::String::New(env, g_engine->error_message(SlotArg(info, 0)));
}

Napi::Value CommBackgroundError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!g_engine) return Napi::String::New(env, "");
  return Napi::String::New(env, g_engine->take_background_error());
}

Napi::Value CommInternalInFlight(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Napi::Number::New(env, g_engine ? double(g_engine->internal_in_flight()) : 0);
}

// commTransportStats(): [label, value] pairs of the transport's own statistics (ZCMPI_STATS),
// also after finalize; [] before init or when the transport keeps none.
Napi::Value CommTransportStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  if (!g_engine) return out;
  uint32_t i = 0;
  for (const zc::transport::Counter& c : g_engine->transport().counters()) {
    Napi::Array row = Napi::Array::New(env, 2);
    row.Set(0u, Napi::String::New(env, c.label));
    row.Set(1u, Napi::Number::New(env, double(c.value)));
    out.Set(i++, row);
  }
  return out;
}

// commDisconnect(): flush and close every endpoint (after the final barrier).
Napi::Value CommDisconnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Live(env).disconnect();
  return env.Undefined();
}

// commShutdown(): stop progress, free UCX, lift every guard. The communicator is finalized.
Napi::Value CommShutdown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!g_engine || g_finalized) return env.Undefined();
  g_engine->shutdown();
  g_finalized = true;
  zc::guard::release_all();
  if (g_notify_set) {
    if (g_loop_ref) g_notify.Unref(env);
    g_loop_ref = false;
    g_notify.Release();
    g_notify_set = false;
  }
  return env.Undefined();
}

}  // namespace

Engine& LiveEngine(Napi::Env env) { return Live(env); }

void RegisterTransport(Napi::Env env, Napi::Object exports) {
  exports.Set("commCreate", Napi::Function::New(env, CommCreate));
  exports.Set("commConnect", Napi::Function::New(env, CommConnect));
  exports.Set("commSetNotify", Napi::Function::New(env, CommSetNotify));
  exports.Set("commRefLoop", Napi::Function::New(env, CommRefLoop));
  ExportDirect(env, exports, "commIsend", Direct<8, CommPost<true>>);
  ExportDirect(env, exports, "commIrecv", Direct<8, CommPost<false>>);
  exports.Set("commBarrier", Napi::Function::New(env, CommBarrier));
  exports.Set("commGuard", Napi::Function::New(env, CommGuard));
  ExportDirect(env, exports, "commPostWait", Direct<9, CommPostWait>);
  exports.Set("commObserved", Napi::Function::New(env, CommObserved));
  ExportDirect(env, exports, "commPoll", Direct<2, CommPoll>);
  exports.Set("commWait", Napi::Function::New(env, CommWait));
  exports.Set("commProgress", Napi::Function::New(env, CommProgress));
  exports.Set("commDrain", Napi::Function::New(env, CommDrain));
  exports.Set("commErrorMessage", Napi::Function::New(env, CommErrorMessage));
  exports.Set("commBackgroundError", Napi::Function::New(env, CommBackgroundError));
  exports.Set("commInternalInFlight", Napi::Function::New(env, CommInternalInFlight));
  exports.Set("commTransportStats", Napi::Function::New(env, CommTransportStats));
  exports.Set("commDisconnect", Napi::Function::New(env, CommDisconnect));
  exports.Set("commShutdown", Napi::Function::New(env, CommShutdown));
}

}  // namespace zc::bindings
