// Request slots: the native record of every operation JavaScript posted, the status words
// JavaScript reads directly, and the lock-free list of completions waiting to be delivered.
//
// Slots are chosen by JavaScript (runtime/request-slots.ts keeps the free list) and handed
// to every post; a slot is reused only after JavaScript has seen its completion and, if it
// was queued, drained it from the list (see status_layout.h: SlotStatus::queued).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "guard/guard.h"
#include "protocol/shared_guards.h"
#include "protocol/status_layout.h"
#include "transports/transport.h"

namespace zc::protocol {

class Engine;
struct Request;
// InFlightRanges' index of guarded requests by first byte (in_flight_ranges.h).
using RangeIndex = std::multimap<uintptr_t, Request*>;

enum class Kind : uint8_t { Send, Recv, Barrier, Collective };

// Who installs the guard, and who finishes the request, when posting and completion race
// (p2p.cpp). A request posted with its guard already in place starts Guarded.
enum Phase : int32_t {
  kUnguarded = 0,  // in flight, no guard yet (the program cannot touch the buffer meanwhile)
  kGuarding = 1,   // the posting thread is installing the guard
  kGuarded = 2,    // guard in place: completion releases it
  kEarlyDone = 3,  // completed while kGuarding: result stashed, the guarding thread finishes
  kFinishing = 4,  // completed while kUnguarded: the completing thread finishes, no guard
};

struct Request {
  transport::Op op;  // first member: completion callbacks convert &op back to the Request
  Engine* engine = nullptr;
  uint32_t slot = 0;
  uint64_t id = 0;  // the request number shown in guard reports
  Kind kind = Kind::Send;
  SharedGuards::Entry* guard = nullptr;  // the buffer's guard while it is in flight (shared)
  void* user = nullptr;  // receives through a bounce buffer: where the bytes finally go
  size_t user_len = 0;
  void* bounce = nullptr;
  size_t bounce_cap = 0;
  int32_t peer = -1;  // destination, or source (-1: any), in the request's communicator
  int32_t world_peer = -1;  // the same rank in the world: what the transport addresses
  int32_t self_in_comm = -1;  // this rank's number in the request's communicator
  int64_t tag = -1;   // user tag (-1: any)
  std::atomic<bool> in_flight{false};
  std::atomic<int32_t> phase{kGuarded};
  transport::Completion stash;  // the result, in phase kEarlyDone
  const void* guard_addr = nullptr;  // what a deferred guard covers (the program's view)
  const char* call = "";             // "isend", "irecv", "send", "recv" (guard reports)
  bool deferred = false;             // posted by the blocking send/recv (see guard_now)
  std::string js_stack;              // strict mode: where it was posted (for a deferred guard)
  std::atomic<bool> peer_failed{false};  // canceled because a peer died: report ERR_PEER
  Request* next_done = nullptr;          // completion list link
  void* extra = nullptr;                 // kind-specific state (the barrier's schedule)
  char message[224] = {0};               // error text when SlotStatus::error != 0
  // InFlightRanges membership (changed only under its mutex).
  bool in_ranges = false;
  RangeIndex::iterator range_node;
  // Set when the guard could not be installed: the request fails with this (ERR_GUARD).
  std::string guard_error;
  // The memory under the buffer (its ArrayBuffer's backing store), held from the post
  // until the transport is done with it, whatever the program drops or detaches. Handed
  // over through keep_state (p2p_phase.cpp keep_alive/drop_keep_alive): 0 nothing yet,
  // 1 held, 2 finished (the finisher dropped it, or the poster must).
  std::shared_ptr<void> keep;
  std::atomic<int32_t> keep_state{0};
};

class RequestTable {
 public:
  explicit RequestTable(uint32_t capacity);
  ~RequestTable();
  RequestTable(const RequestTable&) = delete;
  RequestTable& operator=(const RequestTable&) = delete;

  bool ok() const { return status_ != nullptr; }
  uint32_t capacity() const { return capacity_; }
  SlotStatus* status(uint32_t slot) { return &status_[slot]; }
  SlotStatus* status_base() { return status_; }
  SharedHeader* header() { return header_; }
  int32_t* drain_buffer() { return drain_; }

  // The record for a slot, created on first use. Called only from the posting (JS) thread.
  Request* get(uint32_t slot);
  // Every record that exists (for the peer-failure fan-out); any thread.
  template <typename Fn>
  void for_each(Fn fn) {
    for (uint32_t c = 0; c < kMaxChunks; c++) {
      Request* chunk = chunks_[c].load(std::memory_order_acquire);
      if (!chunk) continue;
      for (uint32_t i = 0; i < kChunk; i++) fn(&chunk[i]);
    }
  }

  // Publishes a finished request: JS may read the status once state is kSlotDone. Any thread.
  void push_done(Request* r);
  // Moves every queued completion into drain_buffer() in completion order; returns the count.
  size_t drain();

 private:
  static constexpr uint32_t kChunk = 1024;
  static constexpr uint32_t kMaxChunks = 4096;  // up to 4M slots
  uint32_t capacity_;
  SlotStatus* status_ = nullptr;
  SharedHeader* header_ = nullptr;
  int32_t* drain_ = nullptr;
  size_t map_bytes_ = 0;
  void* map_ = nullptr;
  std::atomic<Request*> chunks_[kMaxChunks];
  std::atomic<Request*> done_head_{nullptr};
};

}  // namespace zc::protocol
