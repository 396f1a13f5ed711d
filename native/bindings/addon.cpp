// The addon's entry point: each layer registers its own JavaScript surface (registry.h).
#include <napi.h>

#include "bindings/registry.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  zc::bindings::RegisterGuard(env, exports);
  zc::bindings::RegisterMemory(env, exports);
  zc::bindings::RegisterTransport(env, exports);
  zc::bindings::RegisterCollectives(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(zcmpi, Init)
