// The verbs progress thread and completion handling.
//
// Like the UCX one (ucx_progress.cpp): it polls the completion queue while there is work,
// spins briefly after the last completion, then arms the queue's completion channel and
// sleeps in epoll on it (plus an eventfd for wake-ups and shutdown). It never
// waits for the JavaScript thread, and stands aside while a caller spins in progress().
#include <sys/epoll.h>
#include <unistd.h>

#include <cstring>

#include "guard/futex.h"  // now_ns, cpu_relax
#include "transports/guard_hook.h"
#include "transports/verbs/verbs_transport.h"

namespace zc::transport::verbs {

namespace {
thread_local bool tls_progress_thread = false;
}

bool VerbsTransport::start(std::string* err) {
  if (thread_.joinable()) return true;
  try {
    thread_ = std::thread([this] { progress_loop(); });
  } catch (const std::exception& e) {
    *err = std::string("progress thread could not start: ") + e.what();
    return false;
  }
  return true;
}

void VerbsTransport::wake_progress_thread() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  ssize_t rc = write(wake_fd_, &one, sizeof(one));
  (void)rc;
}

void VerbsTransport::caller_polling_begin() { caller_polling_.fetch_add(1, std::memory_order_seq_cst); }

void VerbsTransport::caller_polling_end(bool handoff) {
  caller_active_until_.store(handoff ? 0 : now_ns() + uint64_t(options_.progress_grace_us) * 1000,
                             std::memory_order_seq_cst);
  if (caller_polling_.fetch_sub(1, std::memory_order_seq_cst) != 1) return;
  // Handing back (the caller is about to sleep), or done with its own request while
  // something else is in flight: the thread takes over (in the second case after the grace
  // period, as it would have on its own). Done with nothing in flight: no system call.
  if (handoff || pending_.load(std::memory_order_seq_cst) > 0) end_standing_aside(handoff);
  if (handoff && sleeping_.load(std::memory_order_acquire)) wake_progress_thread();
}

void VerbsTransport::posted_without_poll(bool rounds) {
  if (rounds && caller_active_until_.load(std::memory_order_relaxed) != 0)
    caller_active_until_.store(0, std::memory_order_seq_cst);
  end_standing_aside(rounds);
}

void VerbsTransport::end_standing_aside(bool grace_too) {
  // Dekker with stand_aside: the thread sets its stage before it reads the word and the
  // conditions, callers change a condition (seq_cst) before they read the stage, so one of
  // the two sees the other; the word changes before the wake, so a wake that comes between
  // the thread's reading it and its futex wait is not lost (the wait returns at once).
  const int32_t stage = aside_stage_.load(std::memory_order_seq_cst);
  if (stage == kNotAside || (stage == kAsideGrace && !grace_too)) return;
  aside_word_.fetch_add(1, std::memory_order_seq_cst);
  futex_wake_all(&aside_word_);
}

uint64_t VerbsTransport::aside_until(uint64_t t, AsideStage* stage) const {
  // A caller polls the completion queue itself: out of its way (bounded, and woken when it
  // leaves work in flight).
  *stage = kAsidePolling;
  if (caller_polling_.load(std::memory_order_seq_cst) > 0) return t + kIdleAsideNs;
  const uint64_t until = caller_active_until_.load(std::memory_order_seq_cst);
  *stage = kNotAside;
  if (until == 0) return 0;  // handed back
  // The grace after a poll: the caller will likely poll again.
  if (t < until) {
    *stage = kAsideGrace;
    return until;
  }
  // Then, with nothing in flight, kIdleAsideNs more: the caller's next poll takes the
  // peer's next message.
  if (pending_.load(std::memory_order_seq_cst) > 0) return 0;
  *stage = kAsideIdle;
  return until + kIdleAsideNs;
}

bool VerbsTransport::stand_aside() {
  // Provisionally "polling", the widest stage (any caller's wake ends it), until the
  // conditions are read; then the stage they name.
  aside_stage_.store(kAsidePolling, std::memory_order_seq_cst);
  const int32_t word = aside_word_.load(std::memory_order_seq_cst);
  const uint64_t t = now_ns();
  AsideStage stage = kNotAside;
  const uint64_t until = aside_until(t, &stage);
  if (until > t) {
    if (stage != kAsidePolling) aside_stage_.store(stage, std::memory_order_seq_cst);
    futex_wait(&aside_word_, word, int64_t(until - t));
  }
  aside_stage_.store(kNotAside, std::memory_order_release);
  return until > t;
}

void VerbsTransport::handle_events(const struct epoll_event* events, int n) {
  for (int i = 0; i < n; i++) {
    if (events[i].data.fd == wake_fd_) {
      uint64_t v;
      ssize_t r = read(wake_fd_, &v, sizeof(v));
      (void)r;
    } else if (ctx_ && events[i].data.fd == ctx_->async_fd) {
      LockGuard g(lock_);
      handle_async_events();
    } else {
      ibv_cq* cq = nullptr;
      void* ctx = nullptr;
      while (ibv_get_cq_event(channel_, &cq, &ctx) == 0) ibv_ack_cq_events(cq, 1);
    }
  }
}

void VerbsTransport::handle_wc(const ibv_wc& wc) {
  auto pit = qpn_peer_.find(wc.qp_num);
  if (pit == qpn_peer_.end()) return;
  const int peer = pit->second;
  Peer& p = peers_[size_t(peer)];
  const WrKind kind = wr_kind(wc.wr_id);
  if (kind == kWrSend) {
    // The slot is ours again whatever happened to the message (unless fail_peer already
    // took it back when it destroyed the queue pair).
    const uint32_t s = uint32_t(wr_value(wc.wr_id));
    if (s < send_slots_ && slot_owner_[s] == peer) {
      slot_owner_[s] = -1;
      free_send_slots_.push_back(s);
      if (p.sq_used) p.sq_used--;
    }
  }
  if (kind == kWrProbe && wc.status != IBV_WC_SUCCESS) p.probe_out = false;
  if (p.failed) return;  // flushed work of a queue pair already failed: nothing to deliver
  if (wc.status != IBV_WC_SUCCESS) {
    const char* what = kind == kWrRead    ? "an RDMA READ of the sender's buffer failed"
                       : kind == kWrSend  ? "a send failed"
                       : kind == kWrProbe ? "a liveness probe failed"
                                          : "a receive failed";
    std::string why = std::string(what) + ": " + ibv_wc_status_str(wc.status);
    if (wc.status == IBV_WC_RETRY_EXC_ERR)
      why += " (the peer stopped answering: its process or host is gone, or its queue pair is in the error state)";
    else if (wc.status == IBV_WC_WR_FLUSH_ERR)
      why += " (the queue pair to it is in the error state)";
    fail_peer(peer, why);
    return;
  }
  switch (kind) {
    case kWrRecv: {
      const uint64_t v = wr_value(wc.wr_id);
      on_recv_slot(int(v >> 24), uint32_t(v & 0xffffff), wc.byte_len);
      break;
    }
    case kWrRead:
      on_read_done(reinterpret_cast<RndvRecv*>(wr_value(wc.wr_id)));
      break;
    case kWrProbe:
      p.probe_out = false;
      if (p.sq_used) p.sq_used--;
      break;
    default:
      break;
  }
}

void VerbsTransport::liveness_tick() {
  last_probe_ns_ = now_ns();
  handle_async_events();
  check_qp_states();
  probe_peers();
}

void VerbsTransport::check_qp_states() {
  // A queue pair can reach the error state with no work on it to complete flushed (the
  // device's own decision, or the test hook): nothing else would tell us.
  if (!connected_) return;
  for (Peer& p : peers_) {
    if (p.failed || !p.qp || p.rank == options_.rank) continue;
    ibv_qp_attr at;
    ibv_qp_init_attr ia;
    if (ibv_query_qp(p.qp, &at, IBV_QP_STATE, &ia) != 0) continue;
    if (at.qp_state == IBV_QPS_ERR || at.qp_state == IBV_QPS_SQE)
      fail_peer(p.rank, at.qp_state == IBV_QPS_ERR ? "the queue pair to it is in the error state"
                                                   : "the queue pair to it stopped sending (send-queue error)");
  }
}

void VerbsTransport::handle_async_events() {
  if (!ctx_) return;
  ibv_async_event ev;
  while (ibv_get_async_event(ctx_, &ev) == 0) {
    const ibv_event_type type = ev.event_type;
    int peer = -1;
    if (type == IBV_EVENT_QP_FATAL || type == IBV_EVENT_QP_REQ_ERR || type == IBV_EVENT_QP_ACCESS_ERR ||
        type == IBV_EVENT_PATH_MIG_ERR) {
      auto it = qpn_peer_.find(ev.element.qp->qp_num);
      if (it != qpn_peer_.end()) peer = it->second;
    }
    // Acknowledge first: destroying the queue pair (fail_peer) waits for its events' acks.
    ibv_ack_async_event(&ev);
    if (peer >= 0 && peer != options_.rank) {
      fail_peer(peer, std::string("the device reported the queue pair to it broken (") + ibv_event_type_str(type) + ")");
    } else if (type == IBV_EVENT_DEVICE_FATAL) {
      for (Peer& p : peers_)
        if (p.rank != options_.rank) fail_peer(p.rank, "the RDMA device failed (IBV_EVENT_DEVICE_FATAL)");
    }
  }
}

void VerbsTransport::probe_peers() {
  if (!connected_ || disconnected_) return;
  for (Peer& p : peers_) {
    if (p.failed || !p.qp || p.probe_out || p.sq_used >= sq_depth_ || p.rank == options_.rank) continue;
    ibv_sge sge;
    sge.addr = reinterpret_cast<uintptr_t>(probe_page_) + 64;
    sge.length = 8;
    sge.lkey = probe_mr_->lkey;
    ibv_send_wr wr;
    std::memset(&wr, 0, sizeof(wr));
    wr.wr_id = wr_id(kWrProbe, uint64_t(p.rank));
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.opcode = IBV_WR_RDMA_WRITE;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.wr.rdma.remote_addr = p.probe_addr;
    wr.wr.rdma.rkey = p.probe_rkey;
    ibv_send_wr* bad = nullptr;
    if (ibv_post_send(p.qp, &wr, &bad) == 0) {
      p.probe_out = true;
      p.sq_used++;
    }
  }
}

unsigned VerbsTransport::progress() {
  LockGuard g(lock_);
  if (!cq_) return 0;
  const unsigned handed = deferred_.drain();
  ibv_wc wc[32];
  const int n = ibv_poll_cq(cq_, 32, wc);
  // Probes from whichever thread progresses: a caller that keeps polling (a blocking send
  // waiting for a Fin) keeps the progress thread standing aside.
  if (n <= 0 && (++idle_polls_ & 63) == 0 && pending_.load(std::memory_order_relaxed) > 0 &&
      now_ns() - last_probe_ns_ > kLivenessTickNs) {
    liveness_tick();
    after_pass();
  }
  if (n <= 0) return handed;
  count(tls_progress_thread ? pcounts_.by_thread : pcounts_.by_caller, uint64_t(n));
  for (int i = 0; i < n; i++) handle_wc(wc[i]);
  after_pass();
  return handed + unsigned(n);
}

void VerbsTransport::defer(void (*fn)(void*), void* arg) {
  deferred_.push(fn, arg);
  posted_without_poll(true);  // out of a caller's way: this work is for the thread
  if (sleeping_.load(std::memory_order_seq_cst)) wake_progress_thread();
}

void VerbsTransport::progress_loop() {
  // A fault here would wait for a completion only this thread can deliver.
  if (auto started = guard_hook().progress_thread_started) started("verbs-progress");
  tls_progress_thread = true;
  const uint64_t spin_ns = uint64_t(options_.progress_spin_us) * 1000;
  uint64_t last_event = now_ns();
  while (!stop_.load(std::memory_order_acquire)) {
    // Not woken per call while a caller polls: a caller whose poll finished its request
    // leaves without a system call when nothing else is in flight, and wakes this thread
    // when something is (caller_polling_end, posted_without_poll), so an isend posted
    // before or after a blocking call still progresses while the program computes. Waking
    // once per grace period instead cost a switch away from the caller on its CPU about
    // once per message of a ping-pong under emulation (docs/rdma-vm.md, fourth session).
    if (stand_aside()) {
      last_event = now_ns();
      continue;
    }
    if (progress() > 0) {
      last_event = now_ns();
      continue;
    }
    if (pending_.load(std::memory_order_relaxed) > 0 && now_ns() - last_probe_ns_ > kLivenessTickNs) {
      LockGuard g(lock_);
      liveness_tick();
    }
    if (now_ns() - last_event < spin_ns) {
      cpu_relax();
      continue;
    }
    {
      LockGuard g(lock_);
      if (!cq_) break;
      ibv_req_notify_cq(cq_, 0);
    }
    // A completion that arrived before the arm raises no event: look once more.
    if (progress() > 0) {
      last_event = now_ns();
      continue;
    }
    sleeping_.store(true, std::memory_order_seq_cst);
    if (deferred_.pending()) {  // handed over after our last progress(): no sleep (defer)
      sleeping_.store(false, std::memory_order_release);
      continue;
    }
    struct epoll_event events[3];
    const int rc = epoll_wait(epoll_fd_, events, 3, 1000);
    sleeping_.store(false, std::memory_order_release);
    count(pcounts_.thread_sleeps, 1);
    if (rc > 0) count(pcounts_.thread_wakes, 1);
    handle_events(events, rc);
    last_event = now_ns();
  }
}

}  // namespace zc::transport::verbs
