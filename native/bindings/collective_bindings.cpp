// The collectives' and communicators' JavaScript surface (runtime/native.ts declares it).
// The runtime has validated every argument (runtime/collectives.ts); what is checked here
// again is what would make the native side misbehave.
#include <string>
#include <vector>

#include "bindings/buffer_view.h"
#include "bindings/coded_error.h"
#include "bindings/hot_args.h"
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
template <size_t N>
void OptionalRange(HotArgs<N>& a, size_t i, const char* name, void** data, size_t* len) {
  *data = nullptr;
  *len = 0;
  v8::Local<v8::Value> v = a.value(i);
  if (v->IsNull() || v->IsUndefined()) return;
  ByteRange r;
  std::string err;
  if (!a.bytes(i, name, &r, &err)) throw CodedError(a.env(), "ERR_ARG", "zcmpi: " + err);
  *data = r.data;
  *len = r.length;
}

// Counts and displacements arrive as Float64Arrays (elements); null when unused.
template <size_t N>
std::vector<size_t> Counts(const HotArgs<N>& a, size_t i) {
  std::vector<size_t> out;
  v8::Local<v8::Value> v = a.value(i);
  if (v->IsNull() || v->IsUndefined()) return out;
  if (!v->IsFloat64Array()) throw CodedError(a.env(), "ERR_ARG", "counts must be a Float64Array");
  v8::Local<v8::Float64Array> f = v.As<v8::Float64Array>();
  std::vector<double> values(f->Length());
  if (!values.empty()) f->CopyContents(values.data(), values.size() * sizeof(double));
  out.resize(values.size());
  for (size_t k = 0; k < out.size(); k++) {
    double d = values[k];
    if (!(d >= 0) || d > 9007199254740991.0) throw CodedError(a.env(), "ERR_ARG", "counts must be non-negative integers");
    out[k] = size_t(d);
  }
  return out;
}

// commCollective(slot, id, comm, kind, send, recv, dtype, op, root, count, inPlace, jsFold,
//                deferred, sendCounts, sendDispls, recvCounts, recvDispls, stack?) -> 0 posted | 1 completed
// A plain V8 callback (hot_args.h): every small collective is one call, and N-API's type
// tests and conversions of its 18 arguments were a fifth of a 1-rank barrier's time.
napi_value CommCollective(HotArgs<18>& a) {
  Napi::Env env = a.env();
  Engine& e = LiveEngine(env);
  double slot = a.number(0, "slot");
  if (!(slot >= 0) || slot >= double(e.table().capacity())) throw CodedError(env, "ERR_ARG", "slot out of range");
  double id = a.number(1, "id");
  coll::Args c;
  c.comm = uint32_t(a.number(2, "comm"));
  double kind = a.number(3, "kind");
  if (!(kind >= 0 && kind < coll::kKindCount)) throw CodedError(env, "ERR_ARG", "unknown collective kind");
  c.kind = coll::Kind(int(kind));
  OptionalRange(a, 4, "send", &c.send, &c.send_bytes);
  OptionalRange(a, 5, "recv", &c.recv, &c.recv_bytes);
  double dtype = a.number(6, "dtype");
  if (!(dtype >= 0 && dtype < zc::protocol::kDTypeCount)) throw CodedError(env, "ERR_ARG", "unknown element type");
  c.dtype = zc::protocol::DType(int(dtype));
  c.op = zc::protocol::ReduceOp(int(a.number(7, "op")));
  c.root = int(a.number(8, "root"));
  c.count = size_t(a.number(9, "count"));
  c.in_place = a.truthy(10);
  c.js_fold = a.truthy(11);
  c.deferred = a.truthy(12);
  c.send_counts = Counts(a, 13);
  c.send_displs = Counts(a, 14);
  c.recv_counts = Counts(a, 15);
  c.recv_displs = Counts(a, 16);
  std::string stack;
  c.js_stack = a.string_or_null(17, &stack);
  const bool reduces = c.kind == coll::Kind::Reduce || c.kind == coll::Kind::Allreduce ||
                       c.kind == coll::Kind::ReduceScatter || c.kind == coll::Kind::ReduceScatterBlock ||
                       c.kind == coll::Kind::Scan || c.kind == coll::Kind::Exscan;
  if (reduces && !c.js_fold && !zc::protocol::op_defined(c.op, c.dtype))
    throw CodedError(env, "ERR_ARG", "zcmpi: op is not defined on this element type");
  std::string err;
  PostResult r = e.collective(uint32_t(slot), uint64_t(id), c, &err);
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
  ExportDirect(env, exports, "commCollective", Direct<18, CommCollective>);
  exports.Set("commCollGuard", Napi::Function::New(env, CommCollGuard));
  exports.Set("commAddComm", Napi::Function::New(env, CommAddComm));
  exports.Set("commRemoveComm", Napi::Function::New(env, CommRemoveComm));
}

}  // namespace zc::bindings
