// After fork the child holds no guards: nothing of the parent's transfers exists there,
// so every protection is lifted and the table forgotten.
#include <pthread.h>

#include <atomic>

#include "guard/guard_engine.h"
#include "guard/guard_table.h"
#include "guard/convergence.h"
#include "guard/page_table.h"
#include "guard/rep_string_emulation.h"

namespace zc::guard {
namespace {

void child_after_fork() {
  size_t hw = high_water();
  for (size_t i = 0; i < hw; i++) {
    Slot& s = slots()[i];
    if (s.seq.load() & 1) s.seq.fetch_add(1);
  }
  reset_state_lock_after_fork();
  reset_all_pages();
  reset_slots_after_fork();
  reopen_emulation_memory_after_fork();
}

}  // namespace

void install_fork_handler() {
  static std::atomic<bool> done{false};
  bool expected = false;
  if (done.compare_exchange_strong(expected, true)) pthread_atfork(nullptr, nullptr, child_after_fork);
}

}  // namespace zc::guard
