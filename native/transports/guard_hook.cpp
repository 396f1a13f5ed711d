#include "transports/guard_hook.h"

namespace zc::transport {

namespace {
GuardHook g_hook;
}

void set_guard_hook(const GuardHook& hook) { g_hook = hook; }
const GuardHook& guard_hook() { return g_hook; }

}  // namespace zc::transport
