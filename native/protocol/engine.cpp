// Engine lifecycle, completion delivery and waiting.
#include "protocol/engine.h"

#include <sched.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <cstring>

#include "protocol/barrier.h"
#include "protocol/collectives/collective.h"
#include "guard/futex.h"
#include "transports/guard_hook.h"

namespace zc::protocol {

namespace {
thread_local bool tls_js_thread = false;
// The slot this thread is polling in poll()/wait() (-1: none). Its completion, delivered by
// this same thread, is published without the completion list: the caller sees it at once,
// and JavaScript then needs no drain call for it.
thread_local int64_t tls_polling_slot = -1;
// True when sched_yield cannot hand this CPU to another rank: the kernel groups tasks by
// session (autogroup) and yield only reorders the yielding task's own group, so a rank that
// leads its own session (zcmpirun starts every local rank detached, i.e. setsid) yields only
// to its own threads while the rank it waits for sits in the run queue, and keeps the CPU
// until the scheduler's tick or a wake-up preempts it (docs/benchmarks.md, notes: 4 ranks).
bool yield_stays_in_rank() {
  if (getsid(0) != getpid()) return false;
  std::ifstream f("/proc/sys/kernel/sched_autogroup_enabled");
  int on = 0;
  return (f >> on) && on == 1;
}
// How long an idle pass of an oversubscribed poll sleeps instead of yielding, when yielding
// cannot reach the other ranks: sleeping takes the rank off the run queue, so the CPU goes to
// whoever waits for it (measured best of 5, 20, 50 and 100 us, 4 ranks on 2 CPUs).
constexpr long kIdleNapNs = 50 * 1000;
}

Engine::Engine(const EngineConfig& config) : config_(config), table_(config.capacity) {}

namespace {
// The guard policy for transports (transports/guard_hook.h). Whoever holds the transport's
// lock is inside zcmpi's own code (UCX may malloc next to a plain buffer in flight) and
// blocks every completion: it matches guards by exact byte only, never waiting on a
// neighbour. A progress thread faulting on a guard would wait for a completion only it can
// deliver: the guard engine aborts with a message naming the thread instead.
void on_progress_thread_started(const char* name) {
  zc::guard::ensure_alt_stack();
  zc::guard::mark_transport_thread(name);
}
}  // namespace

std::unique_ptr<Engine> Engine::create(const EngineConfig& config, std::string* err) {
  std::unique_ptr<Engine> e(new Engine(config));
  if (!e->table_.ok()) {
    *err = "could not map the request table";
    return nullptr;
  }
  transport::GuardHook hook;
  hook.lock_taken = zc::guard::enter_exact_match;
  hook.lock_released = zc::guard::leave_exact_match;
  hook.progress_thread_started = on_progress_thread_started;
  transport::set_guard_hook(hook);
  transport::Options topt;
  topt.rank = config.rank;
  topt.size = config.size;
  topt.progress_spin_us = config.progress_spin_us;
  topt.progress_grace_us = config.progress_grace_us;
  topt.ucx_peer_errors = config.ucx_peer_errors;
  topt.single_copy_min = config.single_copy_min;
  topt.rdma_device = config.rdma_device;
  topt.rdma_gid = config.rdma_gid;
  topt.verbs_eager_max = config.verbs_eager_max;
  topt.verbs_peer_timeout_s = config.verbs_peer_timeout_s;
  topt.verbs_inject_qp_error = config.verbs_inject_qp_error;
  e->transport_ = transport::create(config.transport, topt, err);
  if (!e->transport_) return nullptr;
  e->transport_->set_peer_failure_handler(&Engine::on_peer_failure, e.get());
  return e;
}

Engine::~Engine() { shutdown(); }

bool Engine::connect(const std::vector<std::vector<uint8_t>>& addresses, std::string* err) {
  if (!transport_->connect(addresses, err)) return false;
  return transport_->start(err);
}

void Engine::set_js_thread() { tls_js_thread = true; }

Request* Engine::prepare(uint32_t slot, uint64_t id, Kind kind, std::string* err) {
  if (slot >= table_.capacity()) {
    *err = "request slot out of range";
    return nullptr;
  }
  SlotStatus* s = table_.status(slot);
  if (s->state.load(std::memory_order_acquire) == kSlotPending || s->queued.load() != 0) {
    *err = "request slot is still in use";
    return nullptr;
  }
  Request* r = table_.get(slot);
  r->op = transport::Op{};
  r->engine = this;
  r->id = id;
  r->kind = kind;
  r->guard = nullptr;
  r->user = nullptr;
  r->user_len = 0;
  r->bounce = nullptr;
  r->bounce_cap = 0;
  r->peer = -1;
  r->world_peer = -1;
  r->self_in_comm = -1;
  r->tag = -1;
  r->peer_failed.store(false, std::memory_order_relaxed);
  r->phase.store(kGuarded, std::memory_order_relaxed);
  r->guard_addr = nullptr;
  r->call = "";
  r->deferred = false;
  r->js_stack.clear();
  r->next_done = nullptr;
  r->extra = nullptr;
  r->message[0] = 0;
  r->in_ranges = false;
  r->guard_error.clear();
  r->keep.reset();
  r->keep_state.store(0, std::memory_order_relaxed);
  s->source = -1;
  s->tag = -1;
  s->error = kErrNone;
  s->bytes = 0;
  s->state.store(kSlotPending, std::memory_order_release);
  return r;
}

static void fill_status(Request* r, SlotStatus* s, int32_t error, int32_t source, int32_t tag, double bytes,
                        const char* msg) {
  s->source = source;
  s->tag = tag;
  s->error = error;
  s->bytes = bytes;
  if (error != kErrNone) std::snprintf(r->message, sizeof(r->message), "%s", msg ? msg : "");
  else r->message[0] = 0;
}

void Engine::publish(Request* r, int32_t error, int32_t source, int32_t tag, double bytes, const char* msg) {
  if (int64_t(r->slot) == tls_polling_slot) {
    publish_now(r, error, source, tag, bytes, msg);
    return;
  }
  SlotStatus* s = table_.status(r->slot);
  fill_status(r, s, error, source, tag, bytes, msg);
  r->in_flight.store(false, std::memory_order_release);
  table_.push_done(r);
  // Dekker with wait(): the state store above must be visible before we look for sleepers.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_relaxed) > 0) futex_wake_all(&s->state);
  if (tls_js_thread) return;  // the JS thread drains right after the call that progressed
  SharedHeader* h = table_.header();
  if (h->notify_wanted.load(std::memory_order_acquire) &&
      h->notify_pending.exchange(1, std::memory_order_acq_rel) == 0) {
    auto fn = notify_fn_.load(std::memory_order_acquire);
    if (fn) fn(notify_ctx_);
  }
}

void Engine::publish_now(Request* r, int32_t error, int32_t source, int32_t tag, double bytes, const char* msg) {
  SlotStatus* s = table_.status(r->slot);
  fill_status(r, s, error, source, tag, bytes, msg);
  r->in_flight.store(false, std::memory_order_release);
  s->state.store(kSlotDone, std::memory_order_release);
}

const char* Engine::error_message(uint32_t slot) {
  if (slot >= table_.capacity()) return "";
  return table_.get(slot)->message;
}

bool Engine::poll(uint32_t slot, uint64_t spin_ns) {
  SlotStatus* s = table_.status(slot);
  if (s->state.load(std::memory_order_acquire) != kSlotPending) return true;
  transport_->caller_polling_begin();
  tls_polling_slot = slot;
  if (spin_ns == 0) {
    // One pass (MPI_Test): the caller is polling in a loop of its own.
    transport_->progress();
    tls_polling_slot = -1;
    transport_->caller_polling_end(false);
    return s->state.load(std::memory_order_acquire) != kSlotPending;
  }
  const uint64_t start = now_ns();
  const uint64_t deadline = start + spin_ns;
  // Busy polling for a few round trips, then every pass yields the CPU: a rank spinning
  // while its peer is not running takes the CPU that this rank's own helper threads (V8's
  // compiler and garbage collector, bound to the same CPU) or anything else on the host
  // need; yielding to nobody costs about a microsecond.
  // More ranks than CPUs (yield_when_idle): every pass that found nothing to do yields at
  // once, as Open MPI's mpi_yield_when_idle does. The rank we wait for is most likely
  // runnable but waiting for this CPU; a 20 us busy phase per wait cost a 4-rank barrier on
  // 2 CPUs several of its rank's turns (docs/benchmarks.md, notes).
  const bool oversubscribed = config_.yield_when_idle;
  // Ranks in sessions of their own: nap (above). The thread's timer slack (50 us by default)
  // would double each nap; 1 us is enough to coalesce nothing we care about.
  static const bool nap_mode = yield_stays_in_rank();
  static thread_local bool slack_set = false;
  const bool nap = oversubscribed && nap_mode;
  if (nap && !slack_set) {
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    slack_set = true;
  }
  const uint64_t busy = oversubscribed ? 0 : config_.busy_poll_ns;
  const uint64_t polite = busy < spin_ns ? start + busy : deadline;
  bool done = false;
  bool yielding = false;
  // The clock is read every 8th pass only: reading it each time was 13% of a ping-pong.
  for (unsigned pass = 1;; pass++) {
    const unsigned events = transport_->progress();
    if (s->state.load(std::memory_order_acquire) != kSlotPending) {
      done = true;
      break;
    }
    if (oversubscribed ? events == 0 : yielding) {
      if (oversubscribed && nap) {
        struct timespec ts{0, kIdleNapNs};
        nanosleep(&ts, nullptr);
      } else {
        sched_yield();
      }
    }
    if (nap || (pass & 7) == 0) {  // a nap outlasts a clock read
      const uint64_t t = now_ns();
      if (t >= deadline) break;
      yielding = t >= polite;
    }
  }
  tls_polling_slot = -1;
  // Done: the caller goes on and will likely be back soon. Not done: it is about to sleep
  // or return to the event loop, so the progress thread takes over now.
  transport_->caller_polling_end(!done);
  return done;
}

void Engine::progress_for(uint64_t spin_ns) {
  transport_->caller_polling_begin();
  const uint64_t deadline = now_ns() + spin_ns;
  while (transport_->progress() == 0 && now_ns() < deadline) {
  }
  transport_->caller_polling_end(true);
}

void Engine::wait(uint32_t slot, uint64_t spin_ns) {
  if (poll(slot, spin_ns)) return;
  SlotStatus* s = table_.status(slot);
  // The progress thread completes the request; this thread only sleeps.
  while (s->state.load(std::memory_order_acquire) == kSlotPending) {
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    if (s->state.load(std::memory_order_seq_cst) == kSlotPending)
      futex_wait(&s->state, kSlotPending, 100 * 1000 * 1000);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
  }
}

void Engine::record_background_error(const char* msg) {
  if (!background_error_set_.exchange(true)) {
    std::snprintf(background_error_, sizeof(background_error_), "%s", msg);
  }
  table_.header()->background_errors.fetch_add(1, std::memory_order_release);
}

std::string Engine::take_background_error() {
  if (table_.header()->background_errors.exchange(0) == 0) return "";
  std::string m = background_error_;
  background_error_set_.store(false);
  return m;
}

void Engine::on_peer_failure(void* ctx, int rank, const char* why) {
  // Runs under the transport's lock on the progress thread. Sends to the rank fail inside
  // the transport; receives that only that rank could satisfy, and wildcard receives (which
  // could otherwise wait forever for a rank that is gone), are canceled as ERR_PEER.
  auto* e = static_cast<Engine*>(ctx);
  e->table_.for_each([&](Request* r) {
    if (!r->in_flight.load(std::memory_order_acquire) || r->kind != Kind::Recv) return;
    if (r->world_peer != rank && r->world_peer != -1) return;
    r->peer_failed.store(true, std::memory_order_release);
    e->transport_->cancel(&r->op);
  });
  barrier_fail_all(e, rank, why);
  coll::fail_all(e, rank, why);
}

void Engine::disconnect() {
  if (transport_) transport_->disconnect();
}

void Engine::shutdown_quick() {
  if (transport_ && !shut_down_) transport_->stop_progress();
}

void Engine::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (transport_) transport_->shutdown();
  // Strict mode: guards held for requests the program never observed.
  std::unordered_map<uint64_t, Unobserved> left;
  {
    std::lock_guard<std::mutex> g(unobserved_mutex_);
    left.swap(unobserved_);
  }
  for (auto& [id, u] : left) guards_.release(u.guard, false);
}

}  // namespace zc::protocol
