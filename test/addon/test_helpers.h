// The test addon's own JavaScript surface, one register function per file.
#pragma once

#include <napi.h>

namespace zc::test_addon {

// engine_calls.cpp: the guard engine driven directly (guardInit, guardAcquire, guardRelease,
// guardIsActive, guardReleaseAll, guardSetRank), viewAddress and memoryStats.
void RegisterEngineCalls(Napi::Env env, Napi::Object exports);
// devices.cpp: native threads standing in for a device (guardReleaseAfter, deviceFillAndRelease).
void RegisterDevices(Napi::Env env, Napi::Object exports);
// program_accesses.cpp: native code touching guarded memory as programs and addons do
// (nativeFill, nativeSum, threadTouch, forkChildWrites, segfaultForTest).
void RegisterProgramAccesses(Napi::Env env, Napi::Object exports);

// protect_failures.cpp: injected failures of the engine's protection changes
// (injectProtectFailures, protectFailureCounts, clearProtectFailures).
void RegisterProtectFailures(Napi::Env env, Napi::Object exports);
// map_count.cpp: the process's mappings filled up to vm.max_map_count (fillMapCount,
// releaseMapCount).
void RegisterMapCount(Napi::Env env, Napi::Object exports);

}  // namespace zc::test_addon
