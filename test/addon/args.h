// Argument helpers shared by the test addon's bindings.
#pragma once

#include <napi.h>

#include <string>

#include "bindings/buffer_view.h"

namespace zc::test_addon {

inline zc::bindings::ByteRange RangeArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  zc::bindings::ByteRange r;
  std::string err;
  if (!zc::bindings::GetByteRange(info[i], name, &r, &err)) throw Napi::TypeError::New(info.Env(), err);
  return r;
}

inline int32_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

}  // namespace zc::test_addon
