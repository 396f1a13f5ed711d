// The collectives' and communicators' JavaScript surface (runtime/native.ts declares it).
// The runtime has validated every argument (runtime/collectives.ts); what is checked here
// again is what would make the native side misbehave.
#include <string>
#include <vector>

#include "bindings/buffer_view.h"
#include "bindings/coded_error.h"
#include "bindings/registry.h"
#include "protocol/collectives/collective.h"
#include "protocol/engine.h"

namespace zc::bindings {
namespace {

using zc::protocol::Engine;
using zc::protocol::PostResult;
namespace coll = zc::protocol::coll;

double Num(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw CodedError(info.Env(), "ERR_ARG", std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

// A buffer argument that may be null (none on this rank, or IN_PLACE).
void OptionalRange(const Napi::CallbackInfo& info, size_t i, const char* name, void** data, size_t* len) {
  *data = nullptr;
  *len = 0;
  if (info[i].IsNull() || info[i].IsUndefined()) return;
  ByteRange r;
  std::string err;
  if (!GetByteRange(info[i], name, &r, &err)) throw CodedError(info.Env(), "ERR_ARG", "zcmpi: " + err);
  *data = r.data;
  *len = r.length;
}

// Counts and displacements arrive as Float64Arrays (elements); null when unused.
std::vector<size_t> Counts(const Napi::CallbackInfo& info, size_t i) {
  std::vector<size_t> out;
  if (info[i].IsNull() || info[i].IsUndefined()) return out;
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw CodedError(info.Env(), "ERR_ARG", "counts must be a Float64Array");
  Napi::Float64Array a = info[i].As<Napi::Float64Array>();
  out.resize(a.ElementLength());
  for (size_t k = 0; k < out.size(); k++) {
    double v = a[k];
    if (!(v >= 0) || v > 9007199254740991.0) throw CodedError(info.Env(), "ERR_ARG", "counts must be non-negative integers");
    out[k] = size_t(v);
  }
  return out;
}

// commCollective(slot, id, comm, kind, send, recv, dtype, op, root, count, inPlace, jsFold,
//                deferred, sendCounts, sendDispls, recvCounts, recvDispls, stack?) -> 0 | 1
Napi::Value CommCollective(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = LiveEngine(env);
  double slot = Num(info, 0, "slot");
  if (!(slot >= 0) || slot >= double(e.table().capacity())) throw CodedError(env, "ERR_ARG", "slot out of range");
  double id = Num(info, 1, "id");
  coll::Args a;
  a.comm = uint32_t(Num(info, 2, "comm"));
  double kind = Num(info, 3, "kind");
  if (!(kind >= 0 && kind < coll::kKindCount)) throw CodedError(env, "ERR_ARG", "unknown collective kind");
  a.kind = coll::Kind(int(kind));
  OptionalRange(info, 4, "send", &a.send, &a.send_bytes);
  OptionalRange(info, 5, "recv", &a.recv, &a.recv_bytes);
  double dtype = Num(info, 6, "dtype");
  if (!(dtype >= 0 && dtype < zc::protocol::kDTypeCount)) throw CodedError(env, "ERR_ARG", "unknown element type");
  a.dtype = zc::protocol::DType(int(dtype));
  a.op = zc::protocol::ReduceOp(int(Num(info, 7, "op")));
  a.root = int(Num(info, 8, "root"));
  a.count = size_t(Num(info, 9, "count"));
  a.in_place = info[10].ToBoolean();
  a.js_fold = info[11].ToBoolean();
  a.deferred = info[12].ToBoolean();
  a.send_counts = Counts(info, 13);
  a.send_displs = Counts(info, 14);
  a.recv_counts = Counts(info, 15);
  a.recv_displs = Counts(info, 16);
  std::string stack;
  if (info.Length() > 17 && info[17].IsString()) {
    stack = info[17].As<Napi::String>().Utf8Value();
    a.js_stack = stack.c_str();
  }
  const bool reduces = a.kind == coll::Kind::Reduce || a.kind == coll::Kind::Allreduce ||
                       a.kind == coll::Kind::ReduceScatter || a.kind == coll::Kind::ReduceScatterBlock ||
                       a.kind == coll::Kind::Scan || a.kind == coll::Kind::Exscan;
  if (reduces && !a.js_fold && !zc::protocol::op_defined(a.op, a.dtype))
    throw CodedError(env, "ERR_ARG", "zcmpi: op is not defined on this element type");
  std::string err;
  PostResult r = e.collective(uint32_t(slot), uint64_t(id), a, &err);
  if (r == zc::protocol::kFailed) {
    const bool guard = err.find("guarded") != std::string::npos;
    throw CodedError(env, guard ? "ERR_GUARD" : "ERR_ARG", "zcmpi: " + err);
  }
  return Napi::Number::New(env, r);
}

// commCollGuard(slot) -> 0 now guarded | 1 completed (a blocking collective still in flight)
Napi::Value CommCollGuard(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = LiveEngine(env);
  std::string err;
  PostResult r = e.collective_guard_now(uint32_t(Num(info, 0, "slot")), &err);
  if (r == zc::protocol::kFailed) throw CodedError(env, "ERR_ARG", "zcmpi: " + err);
  return Napi::Number::New(env, r);
}

// commAddComm(id, rank, members: Int32Array of world ranks)
Napi::Value CommAddComm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = LiveEngine(env);
  uint32_t id = uint32_t(Num(info, 0, "id"));
  int rank = int(Num(info, 1, "rank"));
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw CodedError(env, "ERR_ARG", "members must be an Int32Array");
  Napi::Int32Array m = info[2].As<Napi::Int32Array>();
  std::vector<int> world(m.ElementLength());
  for (size_t i = 0; i < world.size(); i++) world[i] = m[i];
  std::string err;
  if (!coll::add_comm(&e, id, rank, std::move(world), &err)) throw CodedError(env, "ERR_ARG", "zcmpi: " + err);
  return env.Undefined();
}

// commRemoveComm(id)
Napi::Value CommRemoveComm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = LiveEngine(env);
  coll::remove_comm(&e, uint32_t(Num(info, 0, "id")));
  return env.Undefined();
}

}  // namespace

void RegisterCollectives(Napi::Env env, Napi::Object exports) {
  exports.Set("commCollective", Napi::Function::New(env, CommCollective));
  exports.Set("commCollGuard", Napi::Function::New(env, CommCollGuard));
  exports.Set("commAddComm", Napi::Function::New(env, CommAddComm));
  exports.Set("commRemoveComm", Napi::Function::New(env, CommRemoveComm));
}

}  // namespace zc::bindings
