// The arguments of the bindings that run once per message (commIsend, commIrecv,
// commPostWait, commPoll), read with one napi_get_cb_info into an array on the stack and
// V8's own inline type tests.
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
  HotArgs(napi_env env, napi_callback_info info) : env_(env) {
    size_t argc = N;  // missing arguments come back as undefined
    napi_get_cb_info(env, info, &argc, argv_, nullptr, nullptr);
  }

  Napi::Env env() const { return Napi::Env(env_); }
  Napi::Value napi(size_t i) const { return Napi::Value(env_, argv_[i]); }

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

// A binding written against HotArgs, registered without node-addon-api's wrapper: C++
// exceptions become JavaScript ones, as Napi::Function's wrapper does it.
template <napi_value (*Fn)(napi_env, napi_callback_info)>
napi_value Guarded(napi_env env, napi_callback_info info) {
  try {
    return Fn(env, info);
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

inline void ExportRaw(Napi::Env env, Napi::Object exports, const char* name, napi_callback fn) {
  napi_value f;
  napi_status st = napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, nullptr, &f);
  NAPI_THROW_IF_FAILED_VOID(env, st);
  exports.Set(name, Napi::Value(env, f));
}

}  // namespace zc::bindings
