// The test addon, build/Release/zcmpi_test.node: every binding of the production addon
// (native/bindings/) plus the test-only helpers of this directory, which the production
// addon does not contain. The tests load it in place of zcmpi.node (test/support/addon.ts,
// or ZCMPI_ADDON for a runtime fixture). A process loads one of the two, never both: each
// carries its own guard engine and fault handler.
#include <napi.h>

#include "bindings/registry.h"
#include "test_helpers.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  zc::bindings::RegisterGuard(env, exports);
  zc::bindings::RegisterMemory(env, exports);
  zc::bindings::RegisterTransport(env, exports);
  zc::bindings::RegisterCollectives(env, exports);
  zc::test_addon::RegisterEngineCalls(env, exports);
  zc::test_addon::RegisterDevices(env, exports);
  zc::test_addon::RegisterProgramAccesses(env, exports);
  zc::test_addon::RegisterProtectFailures(env, exports);
  zc::test_addon::RegisterMapCount(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(zcmpi_test, Init)
