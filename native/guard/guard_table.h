// The table of active guards. Writers (acquire/release) take a mutex among themselves;
// the fault handler reads slots without locks, seqlock-style: a slot's `seq` is odd while
// the guard is active, and the same word is the futex a faulting thread waits on.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "guard/guard.h"

namespace zc::guard {

// Address space reserved for slots (MAP_NORESERVE; only slots ever used are backed by
// memory, ~100 bytes each): far more guards than a process can protect pages for. Not a
// limit a program meets: mappings (vm.max_map_count) and memory run out first.
constexpr size_t kMaxGuards = size_t{1} << 24;
constexpr size_t kStackChars = 1536;

struct Slot {
  std::atomic<uint32_t> seq{0};          // odd: active; changes wake waiters
  std::atomic<uintptr_t> start{0};       // exact guarded byte range [start, end)
  std::atomic<uintptr_t> end{0};
  std::atomic<int> dir{0};
  std::atomic<const char*> call{""};
  std::atomic<int32_t> peer{-1};
  std::atomic<int64_t> tag{-1};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> request_id{0};
  std::atomic<uint32_t> reported_seq{0}; // seq value already reported in strict mode
  std::atomic<uint8_t> transfer_done{0};  // strict mode: done, not yet observed (observation.h)
  // JS stack at posting (strict mode), NUL-terminated: a kStackChars buffer of this slot's
  // own, allocated at its first use with a stack and never freed (a report may be reading
  // it), so slots cost nothing for it in block mode.
  std::atomic<char*> stack{nullptr};
};

// Returns the slot array (mmap'ed, lazily materialized).
Slot* slots();
// Slots at index >= high_water() were never used: the handler scans below it.
size_t high_water();

// A consistent copy of an active slot, or false when the slot is not active.
struct SlotView {
  uint32_t seq;
  uintptr_t start, end;
  Direction dir;
};
bool read_slot(size_t index, SlotView* out);

// Finds an active guard that makes an access to [lo, hi) wait: any inbound guard
// overlapping it, or an outbound one when the access is a write. Looks only at the guards
// on the pages of [lo, hi) (guard_index.h), so its time does not grow with the number of
// guards active elsewhere. Async-signal-safe.
bool find_conflict(uintptr_t lo, uintptr_t hi, bool is_write, size_t* index, SlotView* view);

// Slot allocation (not for signal context). Between slot_alloc and the slot turning
// active, acquire lists the slot on its pages (index_add); slot_free, called once the
// slot is released, takes it off them.
long slot_alloc();
void slot_free(size_t index);
size_t active_count();
// The fork child: every slot free again, the allocation lock fresh (another thread of
// the parent may have held it at fork time).
void reset_slots_after_fork();

}  // namespace zc::guard
