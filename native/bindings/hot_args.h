// The arguments of the bindings that run once per message (commIsend, commIrecv,
// commPostWait, commPoll), copied from V8's callback info into an array on the stack and
// tested with V8's own inline type tests; the bindings are plain V8 callbacks (Direct,
// ExportDirect below), not N-API functions.
//
// Why not Napi::CallbackInfo: it keeps 6 arguments on the stack and heap-allocates (and
// asks N-API a second time) beyond that, and commIsend has 8, commPostWait 9; and every
// Napi::Value test or conversion is an N-API call that checks its environment first. Per
// message pair of a window of isend/irecv that was about 2,800 of 15,300 instructions
// (callgrind, docs/performance.md "Cheaper calls into the addon"). The checks and their
// messages are those of NumberArg / GetByteRange (buffer_view.h); anything unusual (a
// string stack, a value to coerce, a bad buffer) takes the N-API path for its conversion
// or its error message.
//
// A napi_value is a v8::Local<v8::Value> (Node's N-API implementation converts them the
// same way).
#pragma once

#include <napi.h>
#include <v8.h>

#include <cstring>
#include <memory>
#include <string>

#include "bindings/buffer_view.h"
#include "bindings/coded_error.h"

namespace zc::bindings {

inline v8::Local<v8::Value> V8Value(napi_value v) {
  v8::Local<v8::Value> local;
  static_assert(sizeof(local) == sizeof(v), "napi_value and v8::Local have the same representation");
  std::memcpy(static_cast<void*>(&local), &v, sizeof(v));
  return local;
}

template <size_t N>
class HotArgs {
 public:
  // The env travels in the function's data (ExportDirect).
  explicit HotArgs(const v8::FunctionCallbackInfo<v8::Value>& info)
      : env_(static_cast<napi_env>(info.Data().As<v8::External>()->Value())) {
    for (size_t i = 0; i < N; i++) {
      v8::Local<v8::Value> v = info[int(i)];  // undefined past the last argument
      std::memcpy(static_cast<void*>(&argv_[i]), &v, sizeof(v));
    }
  }

  Napi::Env env() const { return Napi::Env(env_); }
  Napi::Value napi(size_t i) const { return Napi::Value(env_, argv_[i]); }
  v8::Local<v8::Value> value(size_t i) const { return V8Value(argv_[i]); }

  double number(size_t i, const char* name) const {
    v8::Local<v8::Value> v = V8Value(argv_[i]);
    if (!v->IsNumber()) throw CodedError(env(), "ERR_ARG", std::string(name) + " must be a number");
    return v.As<v8::Number>()->Value();
  }

  // JavaScript truthiness (ToBoolean), as Napi::Value::ToBoolean.
  bool truthy(size_t i) const {
    v8::Local<v8::Value> v = V8Value(argv_[i]);
    if (v->IsBoolean()) return v->IsTrue();
    return napi(i).ToBoolean();
  }

  // A string argument (strict mode's JS stack) into holder; null when absent or not a string.
  const char* string_or_null(size_t i, std::string* holder) const {
    if (!V8Value(argv_[i])->IsString()) return nullptr;
    const Napi::Value s = napi(i);
    *holder = s.As<Napi::String>().Utf8Value();
    return holder->c_str();
  }

  // A communicator id: undefined is 0 (the world); other values as Napi's ToNumber().Uint32Value().
  uint32_t comm_id(size_t i) const {
    v8::Local<v8::Value> v = V8Value(argv_[i]);
    if (v->IsUndefined()) return 0;
    if (v->IsUint32()) return v.As<v8::Uint32>()->Value();
    return napi(i).ToNumber().Uint32Value();
  }

  // The bytes a TypedArray, DataView, Buffer or ArrayBuffer covers; false with GetByteRange's
  // error otherwise. Remembers the ArrayBuffer for backing_store().
  bool bytes(size_t i, const char* name, ByteRange* out, std::string* error) {
    v8::Local<v8::Value> v = V8Value(argv_[i]);
    if (v->IsArrayBufferView()) {
      v8::Local<v8::ArrayBufferView> view = v.As<v8::ArrayBufferView>();
      v8::Local<v8::ArrayBuffer> ab = view->Buffer();
      if (!ab->WasDetached()) {
        out->data = static_cast<char*>(ab->Data()) + view->ByteOffset();
        out->length = view->ByteLength();
        buffer_ = ab;
        return true;
      }
    } else if (v->IsArrayBuffer()) {
      v8::Local<v8::ArrayBuffer> ab = v.As<v8::ArrayBuffer>();
      if (!ab->WasDetached()) {
        out->data = ab->Data();
        out->length = ab->ByteLength();
        buffer_ = ab;
        return true;
      }
    }
    return GetByteRange(napi(i), name, out, error);  // says what is wrong
  }

  // The memory under the buffer bytes() accepted (its ArrayBuffer's backing store), as an
  // owner the engine can hold without knowing V8. Holding it keeps the bytes mapped while a
  // transfer uses them, even after the program detaches the ArrayBuffer (a postMessage or
  // structuredClone transfer list moves the backing store to a new ArrayBuffer, which the
  // program may drop): N-API has no way to pin or mark an ArrayBuffer non-detachable, V8's
  // backing store reference does exactly this. Dropping it on a native thread is safe (V8
  // frees backing stores off the main thread itself; Node's external ones schedule their
  // finalizer).
  std::shared_ptr<void> backing_store() const {
    if (buffer_.IsEmpty()) return nullptr;
    v8::Local<v8::Value> v = buffer_;
    if (v->IsSharedArrayBuffer()) return v.As<v8::SharedArrayBuffer>()->GetBackingStore();
    return buffer_->GetBackingStore();
  }

 private:
  napi_env env_;
  napi_value argv_[N];
  v8::Local<v8::ArrayBuffer> buffer_;
};

// The per-message bindings as plain V8 callbacks instead of N-API functions: N-API's call
// layer (FunctionCallbackWrapper::Invoke with its scope and exception bookkeeping, then
// napi_get_cb_info copying the arguments) was about 380 instructions per message pair
// (callgrind, bench/post-cost.sh). The body is the same HotArgs function; the N-API calls it
// makes (results, errors, the unusual arguments' conversions) need no N-API call frame, and
// its C++ exceptions become JavaScript ones here, as node-addon-api's wrapper does it.
template <size_t N, napi_value (*Fn)(HotArgs<N>&)>
void Direct(const v8::FunctionCallbackInfo<v8::Value>& info) {
  HotArgs<N> a(info);
  try {
    napi_value r = Fn(a);
    if (r) info.GetReturnValue().Set(V8Value(r));
  } catch (const Napi::Error& e) {
    napi_value v = e.Value();
    v8::Isolate* isolate = info.GetIsolate();
    if (v == nullptr) {  // no error object to throw (not expected): still throw, never an empty handle
      isolate->ThrowException(v8::Exception::Error(v8::String::NewFromUtf8Literal(isolate, "zcmpi: internal error")));
      return;
    }
    isolate->ThrowException(V8Value(v));
  }
}

inline void ExportDirect(Napi::Env env, Napi::Object exports, const char* name, v8::FunctionCallback fn) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::External> data = v8::External::New(isolate, static_cast<napi_env>(env));
  v8::Local<v8::Function> f =
      v8::Function::New(context, fn, data, 0, v8::ConstructorBehavior::kThrow).ToLocalChecked();
  f->SetName(v8::String::NewFromUtf8(isolate, name).ToLocalChecked());
  napi_value v;
  static_assert(sizeof(v) == sizeof(f), "napi_value and v8::Local have the same representation");
  std::memcpy(static_cast<void*>(&v), &f, sizeof(v));
  exports.Set(name, Napi::Value(env, v));
}

}  // namespace zc::bindings
