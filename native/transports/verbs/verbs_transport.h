// The verbs transport: zcmpi's own RDMA protocol on libibverbs (rdma-core).
//
// One protection domain, one completion queue with a completion channel, one reliable-
// connected queue pair per rank (this rank's own included: a queue pair connected to
// itself carries self-sends), connected through the job's key-value exchange (the address
// blob: verbs_wire.h). Matching is zcmpi's (protocol/matching.h): the NIC does not match tags.
//
// Small messages (up to eager_max bytes) go eager: copied into a registered send slot and
// sent into one of the receiver's pre-posted slots; the post completes at once. Each peer
// may fill at most `slots` of our slots (credits); we report slots we re-posted in every
// message header and in an explicit Credit message when many are owed, so a receiver is
// never sent more than it has posted. One slot is kept for Credit messages, which is
// what keeps two peers that both ran out of credits from waiting on each other.
//
// Larger messages go rendezvous: an Rts message names the sender's registered buffer; the
// receiver, once a receive matches, RDMA READs it straight into its own registered buffer
// (in pieces of at most max_msg_sz, at most rd_atomic at a time) and answers Fin; the
// sender's operation completes on Fin, so its guard stays until the data has left.
//
// Files: verbs_transport.cpp (device, queue pairs, connection, teardown), verbs_ops.cpp
// (posting, matching, eager and rendezvous), verbs_progress.cpp (completion queue and the
// progress thread), verbs_device.cpp (device/port/GID choice), registration.cpp.
#pragma once

#include <infiniband/verbs.h>

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "protocol/matching.h"
#include "transports/deferred_calls.h"
#include "transports/transport.h"
#include "transports/ucx/reentrant_lock.h"
#include "transports/verbs/registration.h"
#include "transports/verbs/verbs_device.h"
#include "transports/verbs/verbs_wire.h"

struct epoll_event;

namespace zc::transport::verbs {

std::unique_ptr<Transport> create(const Options& options, std::string* err);

// Retransmission: kQpRetries retries of 4.096 us * 2^timeout each (the exponent from
// ZCMPI_VERBS_PEER_TIMEOUT_S, 19 for its 15 s default: 2.1 s per try; qp_timeout_exponent()).
constexpr uint8_t kQpRetries = 6;
uint8_t qp_timeout_exponent(double peer_timeout_s);
// How often, while operations are pending, peers are probed and queue-pair states checked.
constexpr uint64_t kLivenessTickNs = 1000000000ull;
// How long the progress thread stands aside, unwoken, while a caller polls, and after a
// caller's poll while this rank has no operation in flight. Nothing then waits for the
// thread: what arrives meanwhile is the peer's next message, which the caller's next poll
// takes from the completion queue itself. Taking it on the thread instead meant arming the
// queue, a wake-up through the completion channel and a switch away from the caller on its
// CPU for nearly every message of a ping-pong whose caller came back later than the grace
// (under emulation the program's own code between two calls takes longer than that).
// Callers wake the thread when they leave work in flight (caller_polling_end,
// posted_without_poll); the bound is for a peer waiting for the credits our arrivals
// return while the program computes with nothing in flight (in the guest that cost nothing
// measurable: docs/rdma-vm.md, fifth session).
constexpr uint64_t kIdleAsideNs = 10 * 1000 * 1000;

using zc::transport::ucx::ReentrantLock;

// A message waiting for credits, a send slot or send-queue room (kept in order per peer).
struct OutMsg {
  MsgType type = MsgType::Eager;
  uint64_t tag = 0;
  const void* payload = nullptr;  // eager: the caller's bytes (valid until op completes)
  uint32_t len = 0;
  Op* op = nullptr;               // eager: completed once the bytes are copied out
  RtsBody rts{};
  FinBody fin{};
};

// A rendezvous send waiting for the receiver's Fin.
struct RndvSend {
  Op* op = nullptr;
  int peer = -1;
  uint64_t id = 0;
  MrRef mr;
};

// A receive posted and not matched yet.
struct PostedRecv {
  protocol::MatchEntry match;  // first member
  Op* op = nullptr;
  void* buf = nullptr;
  size_t len = 0;
};

// A message that arrived before a receive matched it.
struct Unexpected {
  protocol::MatchEntry match;  // first member
  int peer = -1;
  MsgType type = MsgType::Eager;
  std::vector<uint8_t> data;  // eager payload (copied out of the slot)
  RtsBody rts{};
};

// A matched rendezvous receive whose READs are in flight.
struct RndvRecv {
  Op* op = nullptr;
  int peer = -1;
  char* buf = nullptr;
  size_t len = 0;
  uint64_t sender_tag = 0;
  RtsBody rts{};
  MrRef mr;
  size_t next_offset = 0;  // first byte not yet asked for
  uint32_t reads_out = 0;  // READs posted and not completed
  bool failed = false;
};

struct Peer {
  int rank = -1;
  ibv_qp* qp = nullptr;
  std::string host;
  uint32_t slots = 0;
  // Credits (all counts mod 2^32).
  uint32_t sent = 0;           // messages we sent into its slots
  uint32_t peer_reposted = 0;  // its latest report of slots it re-posted for us
  uint32_t reposted = 0;       // slots we re-posted for it
  uint32_t reported = 0;       // the last count we told it
  uint32_t sq_used = 0;        // our send-queue entries in flight to it
  uint32_t reads_in_flight = 0;
  uint32_t rd_atomic = 1;      // READs we may have outstanding on this queue pair
  std::deque<OutMsg> backlog;       // in order
  std::deque<RndvRecv*> read_wait;  // rendezvous receives with pieces left to ask for
  bool failed = false;
  std::string why;  // why it failed (Completion::message points here)
  uint64_t probe_addr = 0;  // its probe word (liveness)
  uint32_t probe_rkey = 0;
  bool probe_out = false;
};

class VerbsTransport final : public Transport {
 public:
  explicit VerbsTransport(const Options& options);
  ~VerbsTransport() override;

  bool init(std::string* err);

  const char* name() const override { return "verbs"; }
  std::vector<uint8_t> address() const override { return address_; }
  bool connect(const std::vector<std::vector<uint8_t>>& addresses, std::string* err) override;
  bool start(std::string* err) override;

  Posted send(int dest, uint64_t tag, const void* buf, size_t len, Op* op, Completion* out,
              bool force_immediate) override;
  Posted recv(uint64_t tag, uint64_t mask, void* buf, size_t len, Op* op, Completion* out) override;
  void cancel(Op* op) override;

  unsigned progress() override;
  void caller_polling_begin() override;
  void caller_polling_end(bool handoff) override;
  void posted_without_poll(bool rounds) override;
  void serialized(void (*fn)(void*), void* arg) override {
    lock_.lock();
    fn(arg);
    lock_.unlock();
  }
  void defer(void (*fn)(void*), void* arg) override;
  void set_peer_failure_handler(PeerFailureHandler fn, void* ctx) override {
    failure_fn_ = fn;
    failure_ctx_ = ctx;
  }
  bool peer_failed(int rank) const override;
  void disconnect() override;
  void shutdown() override;
  void stop_progress() override;
  std::vector<Counter> counters() const override;

  // Test hook (ZCMPI_VERBS_INJECT_QP_ERROR): moves the queue pair to rank into the error state.
  void inject_qp_error(int rank);

 private:
  // verbs_transport.cpp
  bool create_queue_pairs(std::string* err);
  bool connect_qp(Peer& p, const AddressHeader& remote, uint32_t remote_qpn, std::string* err);
  static void on_block_freed(void* ctx, const zc::memory::Block& b);
  static void on_staging_unmapped(void* ctx, const zc::memory::StagingRegion& r);
  // verbs_ops.cpp
  bool can_send(Peer& p, MsgType type) const;
  bool post_msg(Peer& p, const OutMsg& m);
  void drain_backlog(Peer& p);
  void after_pass();
  void on_recv_slot(int peer, uint32_t slot, uint32_t byte_len);
  void on_read_done(RndvRecv* rr);
  // False if the receive finished at once (truncated, failed peer): *now says how.
  bool start_rndv_recv(int peer, uint64_t sender_tag, const RtsBody& rts, Op* op, void* buf, size_t len,
                       Completion* now);
  void pump_reads(Peer& p);
  void finish_rndv_recv(RndvRecv* rr, Completion c);
  void send_fin(int peer, uint64_t send_id);
  bool repost_slot(int peer, uint32_t slot);
  void fail_peer(int rank, const std::string& why);
  void reclaim_send_slots(int rank);
  void complete(Op* op, const Completion& c);
  // verbs_progress.cpp
  void handle_wc(const ibv_wc& wc);
  void progress_loop();
  void wake_progress_thread();
  // Standing aside: a futex wait on aside_word_ while a caller polls, for the grace period
  // after its poll, and after that for kIdleAsideNs while nothing is in flight
  // (aside_until: until when, 0 or past for not at all, and which of the three). A caller
  // that leaves work for the thread ends it (end_standing_aside; the grace too if asked).
  // False: not standing aside now.
  enum AsideStage : int32_t { kNotAside = 0, kAsidePolling, kAsideGrace, kAsideIdle };
  bool stand_aside();
  uint64_t aside_until(uint64_t t, AsideStage* stage) const;
  void end_standing_aside(bool grace_too);
  // Reads the eventfd, async events and completion-channel events epoll returned.
  void handle_events(const struct epoll_event* events, int n);
  void probe_peers();
  void liveness_tick();        // probes, queue-pair states, async events (under lock_)
  void check_qp_states();
  void handle_async_events();

  char* recv_slot(int peer, uint32_t slot) { return recv_ring_ + (size_t(peer) * slots_ + slot) * slot_bytes_; }
  char* send_slot(uint32_t i) { return send_ring_ + size_t(i) * slot_bytes_; }

  Options options_;
  DeviceChoice dev_;
  ibv_context* ctx_ = nullptr;
  ibv_pd* pd_ = nullptr;
  ibv_comp_channel* channel_ = nullptr;
  ibv_cq* cq_ = nullptr;
  std::vector<Peer> peers_;
  std::vector<uint8_t> address_;
  uint32_t psn_ = 0;
  uint32_t slots_ = 64;         // receive slots per peer
  size_t eager_max_ = 8192;     // largest eager payload
  size_t slot_bytes_ = 0;       // header + eager_max_, rounded up
  uint32_t sq_depth_ = 256;     // send-queue entries per queue pair
  uint32_t rd_atomic_ = 16;     // outstanding READs per queue pair (both ends agree)
  uint64_t max_msg_ = 1u << 30; // largest single transfer the device takes
  char* recv_ring_ = nullptr;   // slots_ per peer
  size_t recv_ring_bytes_ = 0;
  ibv_mr* recv_mr_ = nullptr;
  char* send_ring_ = nullptr;
  size_t send_ring_bytes_ = 0;
  uint32_t send_slots_ = 0;
  ibv_mr* send_mr_ = nullptr;
  std::vector<uint32_t> free_send_slots_;
  std::vector<int> slot_owner_;  // send slot -> peer (for send-queue accounting)
  Registrations regs_;
  uint32_t max_inline_ = 0;
  std::unordered_map<uint32_t, int> qpn_peer_;  // queue pair number -> rank
  int inject_rank_ = -1;         // ZCMPI_VERBS_INJECT_QP_ERROR (tests)
  int inject_after_reads_ = 0;
  uint64_t reads_posted_ = 0;
  // Liveness: while operations are pending, every peer gets an 8-byte RDMA WRITE into its
  // probe word about once a second; a peer whose process died, or whose queue pair to us is
  // in the error state, never acknowledges it, and the retry limit turns that into a failure
  // of everything pending on it (a rendezvous send waiting for Fin has no other traffic that
  // would notice). The same tick reads our own queue pairs' states (one moved to the error
  // state without a completion to tell us) and the device's async events.
  char* probe_page_ = nullptr;
  ibv_mr* probe_mr_ = nullptr;
  uint64_t last_probe_ns_ = 0;
  uint32_t idle_polls_ = 0;

  protocol::MatchQueues match_;
  std::unordered_map<uint64_t, RndvSend*> rndv_sends_;
  uint64_t next_send_id_ = 1;
  std::vector<RndvRecv*> rndv_recvs_;  // in flight (for failure fan-out)
  std::vector<int> backlogged_;        // peers with a non-empty backlog or read_wait
  std::vector<int> dirty_;             // peers touched in this pass

  ReentrantLock lock_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  int wake_fd_ = -1;
  int epoll_fd_ = -1;
  std::atomic<int32_t> caller_polling_{0};
  std::atomic<uint64_t> caller_active_until_{0};
  std::atomic<bool> sleeping_{false};
  DeferredCalls deferred_;  // drained at the start of every progress()
  std::atomic<int32_t> aside_stage_{kNotAside};  // in stand_aside, and why (callers wake it when work is left)
  std::atomic<int32_t> aside_word_{0};      // its futex word: bumped by every end_standing_aside
  // Operations in flight (the thread does not stand aside idle while any); incremented
  // seq_cst, a condition of stand_aside's Dekker.
  std::atomic<int32_t> pending_{0};

  // Where completions are handled (ZCMPI_STATS): by a caller polling for its own request
  // (no hand-off) or by the progress thread, and how often that thread slept and woke.
  // Each counter has one writer at a time (by_caller/by_thread: whoever holds lock_;
  // thread_sleeps/wakes: the progress thread) and is read by counters() on any thread:
  // relaxed atomics, bumped with a load and a store (count()), so the hot path pays no
  // locked instruction.
  struct ProgressCounts {
    std::atomic<uint64_t> by_caller{0};     // work completions handled in a caller's progress()
    std::atomic<uint64_t> by_thread{0};     // work completions handled on the progress thread
    std::atomic<uint64_t> thread_sleeps{0}; // times the progress thread armed the CQ and slept in epoll
    std::atomic<uint64_t> thread_wakes{0};  // of those, woken by an event (not the 1 s timeout)
  };
  static void count(std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  ProgressCounts pcounts_;

  std::unique_ptr<std::atomic<bool>[]> failed_;
  PeerFailureHandler failure_fn_ = nullptr;
  void* failure_ctx_ = nullptr;
  bool connected_ = false;
  bool disconnected_ = false;
  bool shut_down_ = false;
  bool listener_added_ = false;
};

// wr_id layout: kind in the top byte, the rest kind-specific.
enum WrKind : uint64_t { kWrRecv = 1, kWrSend = 2, kWrRead = 3, kWrProbe = 4 };
constexpr uint64_t wr_id(WrKind k, uint64_t v) { return (uint64_t(k) << 56) | (v & ((1ull << 56) - 1)); }
constexpr WrKind wr_kind(uint64_t id) { return WrKind(id >> 56); }
constexpr uint64_t wr_value(uint64_t id) { return id & ((1ull << 56) - 1); }

class LockGuard {
 public:
  explicit LockGuard(ReentrantLock& l) : l_(l) { l_.lock(); }
  ~LockGuard() { l_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  ReentrantLock& l_;
};

}  // namespace zc::transport::verbs
