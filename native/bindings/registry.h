// Each binding file exports one register function; addon.cpp calls them all.
// Keeping them separate keeps each layer's JavaScript surface next to its concern.
#pragma once

#include <napi.h>

namespace zc::protocol {
class Engine;
}

namespace zc::bindings {

// guard_bindings.cpp: guard-engine entry points the runtime uses (guardInit, guardStats,
// guardMechanism, guardSetLongWaitMs, prepareThreadPool). The test addon (test/addon/)
// registers these too, and adds the test-only ones.
void RegisterGuard(Napi::Env env, Napi::Object exports);

// memory_bindings.cpp: alloc(bytes) -> ArrayBuffer over a registered, double-mapped block.
void RegisterMemory(Napi::Env env, Napi::Object exports);

// transport_bindings.cpp: communicator creation, isend/irecv/test/wait, progress, finalize.
void RegisterTransport(Napi::Env env, Napi::Object exports);

// The engine init() created; throws ERR_FINALIZED / ERR_NOT_INITIALIZED (transport_bindings.cpp).
zc::protocol::Engine& LiveEngine(Napi::Env env);

// collective_bindings.cpp: collectives and communicators (commCollective, commAddComm, ...).
void RegisterCollectives(Napi::Env env, Napi::Object exports);

}  // namespace zc::bindings
