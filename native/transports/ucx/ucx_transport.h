// The UCX transport: one ucp_context, one worker, one endpoint per rank, one progress thread.
//
// Files: ucx_transport.cpp (context, worker, endpoints, teardown), ucx_ops.cpp (posting and
// completion callbacks), ucx_progress.cpp (the native progress thread), ucx_single_copy.cpp
// (large registered messages between ranks of one host, transports/single_copy.h).
//
// UCX reads its own configuration from the environment (UCX_TLS, UCX_NET_DEVICES, ...)
// through ucp_config_read(NULL, NULL, ...), so every UCX variable keeps working.
#pragma once

#include <ucp/api/ucp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "transports/single_copy.h"
#include "transports/deferred_calls.h"
#include "transports/transport.h"
#include "transports/ucx/reentrant_lock.h"

namespace zc::transport::ucx {

std::unique_ptr<Transport> create(const Options& options, std::string* err);

class UcxTransport;

// The argument UCX hands to the endpoint error handler: which rank failed.
struct EndpointArg {
  UcxTransport* transport = nullptr;
  int rank = -1;
};

class UcxTransport final : public Transport {
 public:
  explicit UcxTransport(const Options& options);
  ~UcxTransport() override;

  bool init(std::string* err);

  const char* name() const override { return "ucx"; }
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

  // Called by the UCX callbacks (ucx_ops.cpp).
  void on_endpoint_error(int rank, ucs_status_t status);
  void send_done() { pending_sends_.fetch_sub(1, std::memory_order_relaxed); }
  // A receive completed: if a single-copy header arrived in place of the bytes, copies
  // them and queues the acknowledgement; if the receive landed in op->landing, moves what
  // arrived to the program's buffer. Updates *c. Under lock_ (ucx_single_copy.cpp).
  void finish_receive(Op* op, Completion* c);
  bool receives_may_land() const { return sc_receives_; }
  // ucx_single_copy.cpp, under lock_.
  void sc_on_ack(const single_copy::Ack& ack);
  void sc_send_finished(void* record, ucs_status_t status);
  struct ScSend;  // a single-copy send awaiting its acknowledgement

 private:
  void progress_loop();                  // ucx_progress.cpp
  bool setup_wakeup(std::string* err);   // ucx_progress.cpp
  void wake_progress_thread();           // ucx_progress.cpp
  void posted_pending(bool is_send);     // ucx_progress.cpp
  // ucx_single_copy.cpp (all under lock_ but the first two).
  bool sc_init(std::string* err);        // identity, the acknowledgement handler
  bool sc_connect(const std::vector<std::vector<uint8_t>>& addresses, std::vector<const uint8_t*>* ucx_addr,
                  std::string* err);
  // True if the send went single-copy (then *posted and *out say how).
  bool sc_try_send(int dest, uint64_t tag, const void* buf, size_t len, Op* op, Completion* out, Posted* posted);
  void sc_flush_acks();
  void sc_fail_sends(int rank, Result result, const char* why);  // rank -1: every one
  unsigned progress_worker();            // ucp_worker_progress, then the queued acknowledgements


  Options options_;
  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  std::vector<uint8_t> address_;
  std::vector<ucp_ep_h> endpoints_;
  std::unique_ptr<EndpointArg[]> endpoint_args_;
  std::unique_ptr<std::atomic<bool>[]> failed_;

  // Serializes every call into the worker (UCS_THREAD_MODE_SERIALIZED).
  ReentrantLock lock_;

  // Progress thread state.
  std::thread thread_;
  std::atomic<bool> stop_{false};
  int worker_fd_ = -1;   // UCX's event descriptor (ucp_worker_get_efd)
  int wake_fd_ = -1;     // eventfd: wakes the thread for shutdown and for standing aside
  int epoll_fd_ = -1;
  std::atomic<int32_t> caller_polling_{0};  // futex word: threads spinning in progress()
  std::atomic<uint64_t> caller_active_until_{0};  // now_ns() before which callers drive progress
  std::atomic<bool> sleeping_{false};
  DeferredCalls deferred_;  // drained at the start of every progress()
  // Every thread of the rank runs on one CPU (ZCMPI_BIND=core binds the whole process), and
  // when the last call was deferred (ucx_progress.cpp, defer).
  bool shares_cpu_ = false;
  std::atomic<uint64_t> deferred_at_ns_{0};
  // Sends UCX has not finished. A send parked for lack of resources (the peer's queue is
  // full) finishes only through our own progress, and no event announces the room it
  // waits for: while any is pending the progress thread sleeps at most 1 ms at a time.
  std::atomic<int32_t> pending_sends_{0};

  // Same-host single-copy state (ucx_single_copy.cpp); guarded by lock_.
  single_copy::HostIdentity identity_;
  bool identity_ok_ = false;
  std::vector<single_copy::HostIdentity> peer_identity_;
  std::vector<uint8_t> sc_peer_;        // 1: sends to this rank may go single-copy
  bool sc_receives_ = false;            // some rank may send us single-copy headers
  std::unordered_map<uint64_t, ScSend*> sc_sends_;  // awaiting the receiver's acknowledgement
  uint64_t sc_next_id_ = 1;
  std::vector<std::pair<int, single_copy::Ack>> sc_acks_;  // to send once UCX returns
  single_copy::MappingCache sc_maps_{size_t{512} << 20, 128};  // bytes, mappings
  std::atomic<uint64_t> sc_sent_{0}, sc_received_{0}, sc_bytes_{0};

  PeerFailureHandler failure_fn_ = nullptr;
  void* failure_ctx_ = nullptr;
  bool peer_errors_ = false;  // UCP_ERR_HANDLING_MODE_PEER (see connect())
  bool disconnected_ = false;
  bool shut_down_ = false;
};

// RAII for lock_ (ReentrantLock has no std::lock_guard-compatible try semantics we need).
class LockGuard {
 public:
  explicit LockGuard(ReentrantLock& l) : l_(l) { l_.lock(); }
  ~LockGuard() { l_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  ReentrantLock& l_;
};

Result map_status(ucs_status_t status);

}  // namespace zc::transport::ucx
