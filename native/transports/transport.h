// Transport interface: how the protocol layer (native/protocol) moves tagged messages.
//
// A transport matches tagged messages (64-bit tag + mask, see protocol/tag.h), posts sends
// and receives without blocking, and runs its own native progress thread(s) so that every
// in-flight operation completes without the JavaScript thread's help: the guard engine's
// fault handler may freeze the JavaScript thread until a transfer completes, so progress
// that depended on it would deadlock.
//
// Threading: post/cancel/progress may be called from any thread, including from inside a
// completion callback (the transport's lock is reentrant). Completion callbacks run on
// whichever thread is progressing (the progress thread, or a thread inside progress()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace zc::transport {

// Outcome of an operation, independent of the transport library's own status codes.
enum class Result : int32_t {
  Ok = 0,
  Truncated = 1,  // the message was larger than the receive buffer; nothing overflowed
  Canceled = 2,   // cancel() or shutdown
  PeerFailed = 3, // the peer's process or connection is gone
  Error = 4,      // anything else (message says what)
};

struct Completion {
  Result result = Result::Ok;
  uint64_t sender_tag = 0;  // receives: the matched message's full tag
  size_t length = 0;        // receives: bytes delivered (or the message length when truncated)
  const char* message = ""; // static description from the transport library for errors
};

// One posted operation. The protocol embeds it in its own request record; the transport
// keeps a pointer until it calls on_complete exactly once (only for posts that returned
// Posted::Pending).
struct Op {
  void (*on_complete)(Op* op, const Completion& c) = nullptr;
  void* handle = nullptr;  // the transport's in-flight handle (for cancel); owned by the transport
  int32_t peer = -1;       // destination (send) or source (receive, -1 = any); for failure fan-out
  bool is_recv = false;
  void* owner = nullptr;   // the transport that posted it (its callbacks find their way back)
  // The transport's own, for a receive: the buffer as posted, and a landing place for what
  // arrives instead of the bytes when the buffer is too small to hold it (the UCX
  // transport's single-copy header, transports/single_copy.h).
  void* recv_buf = nullptr;
  size_t recv_len = 0;
  bool landed = false;  // posted into `landing` instead of recv_buf
  alignas(8) unsigned char landing[64];
};

enum class Posted {
  Pending,    // in flight: on_complete will be called once, on some thread
  Done,       // completed during the call: *out is filled, on_complete is never called
  WouldBlock, // force_immediate was asked and the transport could not complete at once
};

struct Options {
  int rank = 0;
  int size = 1;
  // How long the progress thread keeps polling after the last event before it sleeps on
  // the transport's event descriptors. Short, because ranks share CPUs.
  uint32_t progress_spin_us = 20;
  // How long the progress thread stands aside after a caller's poll (see caller_polling_end).
  uint32_t progress_grace_us = 500;
  // UCX only: peer-failure detection (UCP_ERR_HANDLING_MODE_PEER); see ucx_transport.cpp.
  bool ucx_peer_errors = false;
  // UCX only: sends of registered memory of at least this many bytes to a rank on the same
  // host go single-copy (the receiver copies straight out of the sender's pages,
  // transports/single_copy.h); 0 turns it off. ZCMPI_SINGLE_COPY_MIN.
  size_t single_copy_min = 65536;
  // verbs: --rdma-device NAME[:PORT] (empty: the first active port), ZCMPI_RDMA_GID (empty:
  // the IPv4-mapped RoCE v2 entry), ZCMPI_VERBS_EAGER_MAX (0: the transport's default).
  std::string rdma_device;
  std::string rdma_gid;
  size_t verbs_eager_max = 0;
  // verbs: ZCMPI_VERBS_PEER_TIMEOUT_S, how long a peer may stay silent (no acknowledgement of
  // a retransmitted packet) before it is declared failed.
  double verbs_peer_timeout_s = 15;
  std::string verbs_inject_qp_error;  // test hook "ON:PEER:N" (verbs_transport.cpp)
};

// One statistic a transport keeps, printed with the rank's statistics (ZCMPI_STATS).
struct Counter {
  const char* label;
  uint64_t value;
};

// Called (on the progress thread, inside the transport's lock) when a peer is declared
// failed. The protocol fails the receives that can only be satisfied by that peer.
using PeerFailureHandler = void (*)(void* ctx, int rank, const char* why);

class Transport {
 public:
  virtual ~Transport() = default;
  virtual const char* name() const = 0;

  // This rank's address, published through the launcher's key-value exchange.
  virtual std::vector<uint8_t> address() const = 0;
  // Creates a connection to every rank (including this one: self-sends use it).
  virtual bool connect(const std::vector<std::vector<uint8_t>>& addresses, std::string* err) = 0;
  // Starts the progress thread. Call after connect().
  virtual bool start(std::string* err) = 0;

  // buf must stay valid and unchanged (send) or untouched (receive) until completion.
  virtual Posted send(int dest, uint64_t tag, const void* buf, size_t len, Op* op, Completion* out,
                      bool force_immediate) = 0;
  virtual Posted recv(uint64_t tag, uint64_t mask, void* buf, size_t len, Op* op, Completion* out) = 0;
  // Asks for an early completion with Result::Canceled (a no-op if it already completed).
  virtual void cancel(Op* op) = 0;

  // Progresses on the calling thread; returns how many events were processed.
  virtual unsigned progress() = 0;
  // A thread that is about to spin on progress() tells the progress thread to stand aside:
  // two threads fighting over the same queues on a 2-CPU machine (with another rank on it)
  // cost more than they gain. After caller_polling_end(false) the caller is expected to
  // poll again soon, so the progress thread keeps standing aside for a grace period (it
  // returns by itself when the period ends: progress never depends on the caller);
  // caller_polling_end(true) hands progress back at once (the caller is about to sleep).
  virtual void caller_polling_begin() = 0;
  virtual void caller_polling_end(bool handoff) = 0;
  // An operation was posted and the caller goes back to the program without polling for it
  // (isend/irecv, barrier, the non-blocking collectives; not the blocking calls; the protocol
  // layer calls it, Engine::posted_unpolled): a progress thread standing aside must not wait
  // for a caller that will not come. rounds (a barrier or collective, whose later rounds only
  // progress posts): it takes over at once, also from the grace period after a poll. A plain
  // send or receive leaves the grace alone: the program likely waits for it soon, and a wake
  // at every window's first isend halved UCX's 8-byte window bandwidth.
  virtual void posted_without_poll(bool rounds) { (void)rounds; }

  // Runs fn(arg) holding the lock progress holds while it runs completion callbacks: a
  // multi-step protocol (the barrier) can post several operations without one of their
  // callbacks interleaving with it.
  virtual void serialized(void (*fn)(void*), void* arg) = 0;
  // Runs fn(arg) under that same lock on the next progress pass, the progress thread's or a
  // caller's progress(), whichever comes first, and makes sure the progress thread comes
  // (transports/deferred_calls.h): work a post hands over instead of doing it on the
  // program's thread.
  virtual void defer(void (*fn)(void*), void* arg) = 0;

  virtual void set_peer_failure_handler(PeerFailureHandler fn, void* ctx) = 0;
  virtual bool peer_failed(int rank) const = 0;

  // Flushes and closes every connection (bounded wait). The progress thread keeps running so
  // peers that are still closing toward us get answers; callers fence with every rank
  // (through the launcher's key-value service) between disconnect() and shutdown().
  virtual void disconnect() = 0;
  // Stops the progress thread and frees the library state (disconnects first if needed).
  virtual void shutdown() = 0;
  // Only stops the progress thread (process exit without finalize: no network goodbyes).
  virtual void stop_progress() = 0;

  // The transport's own statistics (none by default). Thread-safe, also after shutdown().
  virtual std::vector<Counter> counters() const { return {}; }
};

// name: "auto", "ucx" or "verbs" ("auto": verbs when an RDMA device has an active port,
// else ucx). Returns null with a message when the transport cannot be created.
std::unique_ptr<Transport> create(const std::string& name, const Options& options, std::string* err);

}  // namespace zc::transport
