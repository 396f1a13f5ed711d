// The protocol engine behind one communicator: tags, requests, guards and bounce buffers on
// top of a transport.
//
// Posting order (p2p_phase.cpp): the operation is posted, and if it did not complete inside
// the call its guard goes on before the post returns to the program (which cannot run in
// between). Completion runs on whichever thread progresses (normally the transport's
// progress thread): finish the bytes (bounce copy), release the guard, then publish the
// status and wake whoever waits.
//
// Files: engine.cpp (lifecycle, waiting, completion delivery), p2p_*.cpp (isend/irecv, see
// p2p_internal.h), in_flight_ranges.cpp (ordering overlapping posts), barrier.cpp (the
// native dissemination barrier), collectives/ (collective schedules).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "guard/guard.h"
#include "protocol/bounce_pool.h"
#include "protocol/in_flight_ranges.h"
#include "protocol/request_table.h"
#include "protocol/shared_guards.h"
#include "transports/transport.h"

namespace zc::protocol {

namespace coll {
struct Args;
}

struct EngineConfig {
  int rank = 0;
  int size = 1;
  zc::guard::Mode guard_mode = zc::guard::Mode::Block;
  std::string transport = "auto";
  uint32_t progress_spin_us = 20;
  uint32_t progress_grace_us = 500;
  bool ucx_peer_errors = false;  // ZCMPI_UCX_PEER_ERRORS (runtime/options.ts)
  uint32_t capacity = 1u << 20;  // request slots
  // Sends from plain JavaScript memory up to this size are copied and complete at once.
  size_t eager_copy_max = 8192;
  // Registered memory sends up to this size that do not complete inside the call are copied
  // (guarded modes): cheaper than protecting and lifting the buffer (see p2p.cpp).
  size_t guarded_copy_max = 8192;
  // More ranks on this host than CPUs: poll() yields the CPU at every pass that found
  // nothing to do (the rank it waits for may need this CPU), like Open MPI's mpi_yield_when_idle;
  // a rank alone in its scheduler autogroup sleeps 50 us there instead (engine.cpp).
  bool yield_when_idle = false;
  // How long a waiting call busy-polls before every pass of its poll yields the CPU
  // (ZCMPI_BUSY_POLL_US, runtime/options.ts); the whole poll is still bounded by its budget.
  uint64_t busy_poll_ns = 50 * 1000;
  size_t single_copy_min = 65536;  // UCX same-host single-copy (transport::Options)
  // verbs transport (transport::Options has the meaning of each).
  std::string rdma_device;
  std::string rdma_gid;
  size_t verbs_eager_max = 0;
  double verbs_peer_timeout_s = 15;
  std::string verbs_inject_qp_error;
};

// Result of a post: the request is in flight, or already finished (status filled).
enum PostResult : int32_t { kPosted = 0, kCompleted = 1, kFailed = -1 };

class Engine {
 public:
  static std::unique_ptr<Engine> create(const EngineConfig& config, std::string* err);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const EngineConfig& config() const { return config_; }
  std::vector<uint8_t> address() const { return transport_->address(); }
  // Connects to every rank and starts the progress thread.
  bool connect(const std::vector<std::vector<uint8_t>>& addresses, std::string* err);

  // The slot must be free (JS owns the free list). js_stack may be null (strict mode passes it).
  // deferred: the caller will spin until completion before the program runs again (the
  // blocking send/recv), so no guard is installed unless guard_now() is called.
  // comm: the communicator (0: the world); dest and source are ranks in it (p2p_post.cpp).
  PostResult isend(uint32_t slot, uint64_t id, const void* buf, size_t len, int dest, int32_t tag,
                   const char* js_stack, bool deferred, std::string* err, uint32_t comm = 0);
  PostResult irecv(uint32_t slot, uint64_t id, void* buf, size_t len, int32_t source, int64_t tag,
                   const char* js_stack, bool deferred, std::string* err, uint32_t comm = 0);
  // Installs the guard of a deferred request that is still in flight (the program is about
  // to run again). kCompleted if it completed meanwhile, kPosted if it is now guarded.
  PostResult guard_now(uint32_t slot, std::string* err);
  PostResult barrier(uint32_t slot, uint64_t id, std::string* err);
  // Holds `keep` (the memory under a posted buffer) until the request's transfer is done
  // (strict mode: until the program observed it); dropped at once if that is over already.
  // Call right after a post that returned kPosted (strict mode: after every post).
  void keep_alive(uint32_t slot, std::shared_ptr<void> keep);
  // A collective (protocol/collectives/): the schedule runs on the progress thread. Deferred
  // ones (the blocking forms) get their guards from collective_guard_now, like guard_now.
  PostResult collective(uint32_t slot, uint64_t id, const coll::Args& args, std::string* err);
  PostResult collective_guard_now(uint32_t slot, std::string* err);
  // Strict mode: the program observed the completion of request `id` (await, wait(), test()
  // true, waitall): its guard and memory, held since the transfer finished, are let go.
  void observed(uint64_t id);

  // The program gets control back with this request in flight and will not poll for it now
  // (isend, irecv, barrier, the non-blocking collectives; not the blocking send/recv, which
  // poll): the transport's progress thread must not stand aside for a caller that is not
  // coming (Transport::posted_without_poll; rounds: a barrier or collective schedule, whose
  // later rounds only progress posts). Every post path calls it; returns res.
  PostResult posted_unpolled(PostResult res, bool rounds) {
    if (res == kPosted) transport_->posted_without_poll(rounds);
    return res;
  }

  // Spins progress on the calling thread for up to spin_ns (0: one pass); true if done.
  bool poll(uint32_t slot, uint64_t spin_ns);
  // Spins for up to spin_ns, then sleeps until the slot is done (the progress thread works).
  void wait(uint32_t slot, uint64_t spin_ns);
  // Spins for up to spin_ns on the calling thread until any progress event happens.
  void progress_for(uint64_t spin_ns);

  RequestTable& table() { return table_; }
  const char* error_message(uint32_t slot);

  // Wakes the JavaScript event loop (a thread-safe function call); set by the bindings.
  void set_notifier(void (*fn)(void*), void* ctx) {
    notify_ctx_ = ctx;
    notify_fn_.store(fn, std::memory_order_release);
  }
  // Marks the calling thread as the one JavaScript runs on: completions it delivers itself
  // need no event-loop wake-up, it drains right after the call that progressed.
  void set_js_thread();

  // Errors of internal operations (copied small sends) that no request can carry.
  std::string take_background_error();
  // Internal operations still in flight (copied small sends); finalize waits for them.
  int64_t internal_in_flight() const { return internal_in_flight_.load(std::memory_order_acquire); }

  // finalize: disconnect() after the final barrier, fence, then shutdown().
  void disconnect();
  void shutdown();
  // Process exit without finalize: stop the progress thread, nothing else.
  void shutdown_quick();

  // --- used by the completion paths (p2p.cpp, barrier.cpp) ---
  transport::Transport& transport() { return *transport_; }
  void publish(Request* r, int32_t error, int32_t source, int32_t tag, double bytes, const char* msg);
  void publish_now(Request* r, int32_t error, int32_t source, int32_t tag, double bytes, const char* msg);
  // A receive took a message this rank sent itself (p2p_phase.cpp finish_recv).
  void note_self_received() { self_received_.fetch_add(1, std::memory_order_acq_rel); }
  void record_background_error(const char* msg);
  BouncePool& bounce_pool() { return bounce_; }
  SharedGuards& shared_guards() { return guards_; }
  InFlightRanges& ranges() { return ranges_; }
  // Strict mode, at retirement: keeps the request's guard (acquiring one if it completed
  // inside its post) and memory until observed(). False when there is nothing to hold.
  bool hold_until_observed(Request* r);
  std::atomic<int64_t>& internal_in_flight_counter() { return internal_in_flight_; }
  uint32_t next_barrier_epoch() { return barrier_epoch_++; }

 private:
  explicit Engine(const EngineConfig& config);
  static void on_peer_failure(void* ctx, int rank, const char* why);
  Request* prepare(uint32_t slot, uint64_t id, Kind kind, std::string* err);
  // Waits (posting thread, no lock held) until no request on `side` in flight overlaps
  // [buf, buf + len): see in_flight_ranges.h. False, with *err naming both requests, when one
  // of them can only be finished by a later post of this very thread (waits_for_itself).
  bool order_after(Kind side, const void* buf, size_t len, const char* call, std::string* err);
  bool waits_for_itself(const Request* r);

  EngineConfig config_;
  std::unique_ptr<transport::Transport> transport_;
  RequestTable table_;
  BouncePool bounce_;
  SharedGuards guards_;
  InFlightRanges ranges_;
  // Strict mode: requests finished but not yet observed by the program, by request id.
  struct Unobserved {
    SharedGuards::Entry* guard = nullptr;
    std::shared_ptr<void> keep;
  };
  std::mutex unobserved_mutex_;
  std::unordered_map<uint64_t, Unobserved> unobserved_;
  std::atomic<void (*)(void*)> notify_fn_{nullptr};
  void* notify_ctx_ = nullptr;
  std::atomic<int32_t> sleepers_{0};
  // Point-to-point messages this rank sent to itself, and those of them its receives have
  // taken (waits_for_itself: equal means none is on its way to a receive).
  std::atomic<uint64_t> self_sent_{0};
  std::atomic<uint64_t> self_received_{0};
  std::atomic<int64_t> internal_in_flight_{0};
  std::atomic<bool> background_error_set_{false};
  char background_error_[256] = {0};
  uint32_t barrier_epoch_ = 0;
  bool shut_down_ = false;
};

}  // namespace zc::protocol
