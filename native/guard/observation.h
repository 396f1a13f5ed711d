// Strict mode judges by what the program observed (docs/design.md "Strict mode"): a guard
// can outlive its transfer until the program observes the request's completion (await,
// wait(), test() true, waitall). While it is marked transfer-done, an access that conflicts
// with it is reported once, like any hazard, and then proceeds without waiting (stepped
// through like a collateral access). These are the hooks the protocol layer needs for that;
// they are separate from acquire/release on purpose.
#pragma once

#include <cstddef>

#include "guard/guard.h"

namespace zc::guard {

// Marks a held guard's transfer as done (or in flight again, when a new request shares it).
// Not for signal context.
void set_transfer_done(GuardId id, bool done);

// Async-signal-safe: the fault handler's question for the guard in slot `index`.
bool transfer_done(size_t index);

// Strict mode: a post on [addr, addr + len) that MPI forbids given the guards held now (a
// send or receive posted on bytes of a pending receive, a receive on bytes of a pending
// send; post_writes says whether the new request writes the bytes) is reported once per
// guard, like a program access. Returns true if there was such a guard. Never waits.
bool report_conflicting_post(const void* addr, size_t len, bool post_writes, const RequestInfo& post);

}  // namespace zc::guard
