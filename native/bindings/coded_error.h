// The Error every binding throws: a message and a `code` property (ERR_ARG, ERR_GUARD, ...)
// that runtime/errors.ts maps to the runtime's error classes.
#pragma once

#include <napi.h>

#include <string>

namespace zc::bindings {

inline Napi::Error CodedError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

}  // namespace zc::bindings
