// Internals shared by guard.cpp and fault_handler.cpp.
#pragma once

#include <atomic>
#include <cstdint>

#include "guard/guard.h"

namespace zc::guard {

struct EngineState {
  std::atomic<int> mode{static_cast<int>(Mode::Off)};
  std::atomic<int> rank{-1};
  std::atomic<uint32_t> long_wait_ms{10000};
  std::atomic<uint64_t> acquired{0};
  std::atomic<uint64_t> waited{0};
  std::atomic<uint64_t> lifted{0};
  std::atomic<uint64_t> collateral{0};
  std::atomic<uint64_t> reports{0};
};
EngineState& engine();

// Installs SIGSEGV/SIGTRAP handlers once (chained). Not for signal context.
bool install_fault_handlers(char* err, size_t errlen);
// Puts our SIGSEGV handler back when another one replaced it (chaining to that one).
// Not for signal context; cheap (one sigaction call when nothing changed).
void reclaim_fault_handler();
// The fork child: the acquire/release lock may have been held by a thread that does not
// exist there.
void reset_state_lock_after_fork();
// pthread_atfork child hook lives with the table reset.
void install_fork_handler();

}  // namespace zc::guard
