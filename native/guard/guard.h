// Guard engine: the public face of native/guard.
//
// A guard says "a device owns these bytes until release()". While it is held, the pages
// under it are protected (outbound: read-only, inbound: no access) and a program access
// that would race with the device traps into the fault handler, which waits for the
// release and lets the access proceed. Accesses to bytes outside every guard that merely
// share a page are single-stepped through without waiting (collateral).
//
// Threading: acquire/release may be called from any thread except inside a signal
// handler. The fault handler itself is async-signal-safe: it only reads the lock-free
// tables below, calls mprotect, and waits on futexes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zc::guard {

enum class Mode : int {
  Off = 0,     // no protection at all: the unsafe baseline
  Block = 1,   // early accesses wait; nothing is reported
  Strict = 2,  // like Block, and accesses MPI forbids are reported on stderr
};

enum class Direction : int {
  Outbound = 0,  // the device reads the bytes: program reads proceed, writes wait
  Inbound = 1,   // the device writes the bytes: every program access waits
};

// What a report or a long-wait message says about the transfer owning a guard.
struct RequestInfo {
  const char* call = "";   // static string: "isend", "irecv", ...
  int32_t peer = -1;       // peer rank (-1: any source)
  int64_t tag = -1;        // user tag (-1: any tag)
  uint64_t bytes = 0;      // length of the user buffer
  uint64_t request_id = 0; // the runtime's request number
};

using GuardId = int32_t;
constexpr GuardId kNoGuard = -1;  // mode off or an empty range: nothing to release

// Installs the SIGSEGV and SIGTRAP handlers, chained to the handlers present now, and an
// alternate signal stack on the calling thread. Call after every library that installs
// its own SIGSEGV handler (UCX) has initialized, so faults reach us first.
// Returns false with a message in err on failure. Calling it again only changes the mode.
bool init(Mode mode, char* err, size_t errlen);
Mode mode();
int rank_for_reports();
void set_rank_for_reports(int rank);
// A wait longer than this prints what it waits on, then keeps waiting (default 10000 ms).
void set_long_wait_ms(uint32_t ms);

// Protects [addr, addr+len) for a transfer. js_stack (may be null) is copied and printed in
// strict-mode reports. Returns kNoGuard when the mode is Off or len is 0. On failure
// (table full, memory not writable for an inbound guard, mprotect error) returns kNoGuard
// and writes a message to err; *failed is set to true.
GuardId acquire(void* addr, size_t len, Direction dir, const RequestInfo& info,
                const char* js_stack, bool* failed, char* err, size_t errlen);

// The transfer is done: the bytes belong to the program again. Restores page protection
// (pages still under other guards stay protected) and wakes every waiter.
void release(GuardId id);

// True while the guard is held (diagnostics and tests).
bool is_active(GuardId id);

// Lifts every protection and forgets every guard (finalize; the fork child does this itself).
void release_all();

// Every thread that can fault needs an alternate signal stack: the fault handler must run
// even when the fault is a stack overflow. Also unblocks SIGSEGV/SIGTRAP (a synchronous
// fault on a thread that blocks SIGSEGV kills the process without any handler) and adopts
// the guard keys. Idempotent per thread.
void ensure_alt_stack();

// With protection keys: gives the calling thread the engine's rights to the guard keys
// (receive key: no access; send key: read only). Threads created after init inherit them;
// ensure_alt_stack calls this, so every thread zcmpi prepares has them.
void adopt_guard_keys();

// Marks the calling thread as a transport thread: a guard fault there would wait for work
// only this thread can do, so it aborts with a message naming `name` instead of hanging.
void mark_transport_thread(const char* name);

// While alive on a thread, a guard fault there matches guards by its exact byte only and
// never waits for a neighbouring guard (see the straddling rule in fault_handler.cpp).
// zcmpi's own native code (acquire, release, posting, progress) runs inside one, because it
// may hold locks that completions need: it must never wait on a guard while holding them.
// enter/leave are the same as a scope for code whose critical section is not a C++ block
// (a lock's lock/unlock); they nest.
void enter_exact_match();
void leave_exact_match();
class ExactMatchScope {
 public:
  ExactMatchScope() { enter_exact_match(); }
  ~ExactMatchScope() { leave_exact_match(); }
  ExactMatchScope(const ExactMatchScope&) = delete;
  ExactMatchScope& operator=(const ExactMatchScope&) = delete;
};

// How pages are protected, for diagnostics: "protection keys 2 (receive) and 3 (send)" or
// "mprotect (...why...)". Fixed at the first init.
const char* protection_mechanism();

struct Stats {
  uint64_t guards_acquired;
  uint64_t faults_waited;      // conflicting accesses that waited for a release
  uint64_t faults_lifted;      // accesses to pages whose guards were already released
  uint64_t faults_collateral;  // accesses outside every guard, single-stepped
  uint64_t strict_reports;     // hazards reported in strict mode
  uint64_t mprotect_calls;
  uint64_t active_guards;
};
Stats stats();

}  // namespace zc::guard
