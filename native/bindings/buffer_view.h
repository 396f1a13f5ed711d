// Turns any JavaScript buffer-like value (TypedArray, Buffer, DataView, ArrayBuffer) into
// the exact byte range it covers, with an error that names the argument otherwise.
#pragma once

#include <napi.h>

#include <string>

namespace zc::bindings {

struct ByteRange {
  void* data = nullptr;
  size_t length = 0;
};

// On failure returns false and sets *error to e.g. "buf must be a TypedArray, DataView,
// Buffer or ArrayBuffer (got string)" or "... is detached".
inline bool GetByteRange(Napi::Value v, const char* name, ByteRange* out, std::string* error) {
  napi_env env = v.Env();
  bool is;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t length;
    void* data;
    napi_value ab;
    size_t offset;
    napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset);
    bool detached = false;
    napi_is_detached_arraybuffer(env, ab, &detached);
    if (detached) { *error = std::string(name) + " is backed by a detached ArrayBuffer"; return false; }
    size_t elem = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: elem = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
      default: elem = 1;
    }
    out->data = data;
    out->length = length * elem;
    return true;
  }
  if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    size_t length;
    void* data;
    napi_value ab;
    size_t offset;
    napi_get_dataview_info(env, v, &length, &data, &ab, &offset);
    bool detached = false;
    napi_is_detached_arraybuffer(env, ab, &detached);
    if (detached) { *error = std::string(name) + " is backed by a detached ArrayBuffer"; return false; }
    out->data = data;
    out->length = length;
    return true;
  }
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    bool detached = false;
    napi_is_detached_arraybuffer(env, v, &detached);
    if (detached) { *error = std::string(name) + " is a detached ArrayBuffer"; return false; }
    napi_get_arraybuffer_info(env, v, &out->data, &out->length);
    return true;
  }
  std::string got = v.IsNull() ? "null" : v.IsUndefined() ? "undefined" : v.IsString() ? "string"
                  : v.IsNumber() ? "number" : v.IsArray() ? "Array" : "object";
  *error = std::string(name) + " must be a TypedArray, Buffer, DataView or ArrayBuffer (got " + got + ")";
  return false;
}

}  // namespace zc::bindings
