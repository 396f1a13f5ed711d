// The one place a transport meets the guard engine. Which guard rules hold inside a
// transport's critical sections and on its threads is the protocol layer's policy
// (protocol/engine.cpp installs the hook before it creates a transport); a transport only
// says when its lock is taken and released and when a thread of its own starts.
#pragma once

namespace zc::transport {

struct GuardHook {
  // The calling thread now holds (or no longer holds) the transport's lock: completions
  // need that lock, so the holder must never wait for one.
  void (*lock_taken)() = nullptr;
  void (*lock_released)() = nullptr;
  // A progress thread of the transport starts (name for diagnostics): it delivers the
  // completions a guard waits for, so it must never wait on a guard itself.
  void (*progress_thread_started)(const char* name) = nullptr;
};

// Installed once, before the first transport exists; read on every lock.
void set_guard_hook(const GuardHook& hook);
const GuardHook& guard_hook();

}  // namespace zc::transport
