// The memory JavaScript reads directly (external ArrayBuffers), so that checking whether a
// request finished costs a typed-array load instead of a call into the addon.
// runtime/native.ts mirrors every offset below; change both together.
#pragma once

#include <atomic>
#include <cstdint>

namespace zc::protocol {

// Per request slot, 32 bytes, viewed from JS as Int32Array (x8) and Float64Array (x4).
struct SlotStatus {
  std::atomic<int32_t> state;   // [0] kSlotFree / kSlotPending / kSlotDone (futex word)
  int32_t source;               // [1] matched source rank (receives), peer (sends)
  int32_t tag;                  // [2] matched user tag
  int32_t error;                // [3] ErrorCode; 0 = success
  double bytes;                 // f64[2] bytes received / sent
  std::atomic<int32_t> queued;  // [6] 1 while the slot sits in the completion list
  int32_t reserved;             // [7]
};
static_assert(sizeof(SlotStatus) == 32, "JS mirrors this layout");

constexpr int32_t kSlotFree = 0;
constexpr int32_t kSlotPending = 1;
constexpr int32_t kSlotDone = 2;

// Error codes as JS sees them (runtime/errors.ts maps them to ZcmpiError subclasses).
enum ErrorCode : int32_t {
  kErrNone = 0,
  kErrTruncate = 1,   // ERR_TRUNCATE
  kErrCanceled = 2,   // ERR_CANCELED
  kErrPeer = 3,       // ERR_PEER
  kErrTransport = 4,  // ERR_TRANSPORT
  kErrGuard = 5,      // ERR_GUARD: the buffer could not be guarded (the message says why)
  kErrMismatch = 6,   // ERR_MISMATCH: ranks called a collective with different arguments
};

// Engine-wide words, viewed from JS as Int32Array.
struct SharedHeader {
  std::atomic<int32_t> queued_count;   // [0] completions waiting in the list (JS drains when != 0)
  std::atomic<int32_t> notify_wanted;  // [1] JS has awaiters: wake its event loop on completions
  std::atomic<int32_t> notify_pending; // [2] a wake-up is already on its way (coalescing)
  std::atomic<int32_t> background_errors;  // [3] errors of internal operations not yet reported
  int32_t reserved[12];
};
static_assert(sizeof(SharedHeader) == 64, "JS mirrors this layout");

}  // namespace zc::protocol
