// Verbs transport setup: device, rings, queue pairs, the address exchange, and teardown.
#include "transports/verbs/verbs_transport.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <chrono>
#include <cstring>
#include <random>
#include <cstdio>
#include <cstdlib>

#include "guard/futex.h"

namespace zc::transport::verbs {

namespace {

constexpr size_t kDefaultEagerMax = 8192;
constexpr size_t kMaxEager = 1u << 20;

size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

char* map_ring(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<char*>(p);
}

std::string host_name() {
  char h[64] = {0};
  gethostname(h, sizeof(h) - 1);
  return h;
}

}  // namespace

std::unique_ptr<Transport> create(const Options& options, std::string* err) {
  auto t = std::make_unique<VerbsTransport>(options);
  if (!t->init(err)) return nullptr;
  return t;
}

VerbsTransport::VerbsTransport(const Options& options) : options_(options) {}

VerbsTransport::~VerbsTransport() { shutdown(); }

bool VerbsTransport::init(std::string* err) {
  // Kernels since 5.9 copy pinned pages into a fork child (UNNEEDED); older ones need
  // ibv_fork_init before the first registration or a child's copy-on-write breaks DMA.
  if (ibv_is_fork_initialized() == IBV_FORK_DISABLED) ibv_fork_init();

  if (!open_device(options_.rdma_device, options_.rdma_gid, &ctx_, &dev_, err)) {
    *err = "the verbs transport cannot start: " + *err;
    return false;
  }
  const ibv_device_attr& a = dev_.attr;
  ibv_port_attr pa;
  if (ibv_query_port(ctx_, dev_.port, &pa) == 0 && pa.max_msg_sz > 0) max_msg_ = pa.max_msg_sz;
  rd_atomic_ = uint32_t(std::max(1, std::min({a.max_qp_rd_atom, a.max_qp_init_rd_atom, 16})));

  eager_max_ = options_.verbs_eager_max ? options_.verbs_eager_max : kDefaultEagerMax;
  if (eager_max_ > kMaxEager) {
    *err = "ZCMPI_VERBS_EAGER_MAX must be at most " + std::to_string(kMaxEager) + " bytes (got " +
           std::to_string(eager_max_) + ")";
    return false;
  }
  slot_bytes_ = round_up(sizeof(MsgHeader) + std::max(eager_max_, sizeof(RtsBody)), 64);
  const uint32_t n = uint32_t(options_.size);
  // Fewer slots per peer in large jobs: the rings grow with the number of ranks.
  slots_ = std::max<uint32_t>(16, std::min<uint32_t>(64, 4096 / n));
  sq_depth_ = std::min<uint32_t>(256, uint32_t(a.max_qp_wr));
  // Every posted receive and every send-queue entry may produce a completion at once.
  uint64_t cqe = uint64_t(n) * (slots_ + sq_depth_) + 64;
  if (cqe > uint64_t(a.max_cqe)) {
    const uint64_t per_peer = (uint64_t(a.max_cqe) - 64) / n;
    if (per_peer < slots_ + 16) {
      *err = "the RDMA device's completion queue (max_cqe " + std::to_string(a.max_cqe) + ") is too small for " +
             std::to_string(n) + " ranks";
      return false;
    }
    sq_depth_ = uint32_t(per_peer - slots_);
    cqe = uint64_t(n) * (slots_ + sq_depth_) + 64;
  }

  pd_ = ibv_alloc_pd(ctx_);
  if (!pd_) { *err = errno_text("ibv_alloc_pd"); return false; }
  regs_.set_pd(pd_);
  channel_ = ibv_create_comp_channel(ctx_);
  if (!channel_) { *err = errno_text("ibv_create_comp_channel"); return false; }
  fcntl(channel_->fd, F_SETFL, fcntl(channel_->fd, F_GETFL) | O_NONBLOCK);
  cq_ = ibv_create_cq(ctx_, int(cqe), nullptr, channel_, 0);
  if (!cq_) { *err = errno_text("ibv_create_cq"); return false; }

  recv_ring_bytes_ = round_up(size_t(n) * slots_ * slot_bytes_, 4096);
  recv_ring_ = map_ring(recv_ring_bytes_);
  send_slots_ = std::min<uint32_t>(4096, 128 + 32 * n);
  send_ring_bytes_ = round_up(size_t(send_slots_) * slot_bytes_, 4096);
  send_ring_ = map_ring(send_ring_bytes_);
  if (!recv_ring_ || !send_ring_) { *err = errno_text("mapping the eager slots"); return false; }
  recv_mr_ = ibv_reg_mr(pd_, recv_ring_, recv_ring_bytes_, IBV_ACCESS_LOCAL_WRITE);
  send_mr_ = ibv_reg_mr(pd_, send_ring_, send_ring_bytes_, IBV_ACCESS_LOCAL_WRITE);
  if (!recv_mr_ || !send_mr_) {
    *err = errno_text("registering the eager slots") +
           (errno == ENOMEM ? " (raise the locked-memory limit: ulimit -l unlimited)" : "");
    return false;
  }
  probe_page_ = map_ring(4096);
  probe_mr_ = probe_page_ ? ibv_reg_mr(pd_, probe_page_, 4096, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE) : nullptr;
  if (!probe_mr_) { *err = errno_text("registering the probe word"); return false; }
  free_send_slots_.reserve(send_slots_);
  for (uint32_t i = send_slots_; i > 0; i--) free_send_slots_.push_back(i - 1);
  slot_owner_.assign(send_slots_, -1);

  std::random_device rd;
  psn_ = rd() & 0xffffff;
  failed_.reset(new std::atomic<bool>[n]);
  for (uint32_t r = 0; r < n; r++) failed_[r].store(false);
  if (!create_queue_pairs(err)) return false;

  AddressHeader h;
  std::memset(&h, 0, sizeof(h));
  h.magic = kAddressMagic;
  h.version = kAddressVersion;
  std::memcpy(h.gid, dev_.gid.raw, 16);
  h.lid = dev_.lid;
  h.ethernet = dev_.ethernet ? 1 : 0;
  h.active_mtu = uint32_t(dev_.active_mtu);
  h.psn = psn_;
  h.nranks = n;
  h.slots = slots_;
  h.slot_bytes = uint32_t(slot_bytes_);
  h.rd_atomic = rd_atomic_;
  h.probe_addr = reinterpret_cast<uintptr_t>(probe_page_);
  h.probe_rkey = probe_mr_->rkey;
  std::snprintf(h.host, sizeof(h.host), "%s", host_name().c_str());
  address_.resize(sizeof(h) + n * sizeof(uint32_t));
  std::memcpy(address_.data(), &h, sizeof(h));
  for (uint32_t r = 0; r < n; r++) {
    const uint32_t qpn = peers_[r].qp->qp_num;
    std::memcpy(address_.data() + sizeof(h) + r * sizeof(uint32_t), &qpn, sizeof(qpn));
  }

  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (wake_fd_ < 0 || epoll_fd_ < 0) { *err = errno_text("eventfd/epoll"); return false; }
  struct epoll_event ev;
  std::memset(&ev, 0, sizeof(ev));
  ev.events = EPOLLIN;
  ev.data.fd = channel_->fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, channel_->fd, &ev) != 0) { *err = errno_text("epoll_ctl"); return false; }
  ev.data.fd = wake_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) { *err = errno_text("epoll_ctl"); return false; }
  // The device's async events (a queue pair gone fatal): read without blocking by whichever
  // thread runs the liveness tick, and they wake a sleeping progress thread.
  fcntl(ctx_->async_fd, F_SETFL, fcntl(ctx_->async_fd, F_GETFL) | O_NONBLOCK);
  ev.data.fd = ctx_->async_fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, ctx_->async_fd, &ev) != 0) { *err = errno_text("epoll_ctl"); return false; }

  zc::memory::add_free_listener(&VerbsTransport::on_block_freed, this);
  zc::memory::add_staging_unmap_listener(&VerbsTransport::on_staging_unmapped, this);
  listener_added_ = true;

  // Test hook for queue-pair error injection (test/fixtures/verbs/qp-error.ts), "ON:PEER:N":
  // on rank ON, the queue pair to rank PEER goes into the error state before its Nth READ.
  if (!options_.verbs_inject_qp_error.empty()) {
    int on = -1, r = -1, after = 1;
    if (std::sscanf(options_.verbs_inject_qp_error.c_str(), "%d:%d:%d", &on, &r, &after) >= 2 && on == options_.rank) {
      inject_rank_ = r;
      inject_after_reads_ = after;
    }
  }
  return true;
}

bool VerbsTransport::create_queue_pairs(std::string* err) {
  const int n = options_.size;
  peers_.resize(size_t(n));
  for (int r = 0; r < n; r++) {
    Peer& p = peers_[size_t(r)];
    p.rank = r;
    p.slots = slots_;
    ibv_qp_init_attr qa;
    std::memset(&qa, 0, sizeof(qa));
    qa.send_cq = cq_;
    qa.recv_cq = cq_;
    qa.qp_type = IBV_QPT_RC;
    qa.cap.max_send_wr = sq_depth_;
    qa.cap.max_recv_wr = slots_;
    qa.cap.max_send_sge = 1;
    qa.cap.max_recv_sge = 1;
    qa.cap.max_inline_data = 64;
    p.qp = ibv_create_qp(pd_, &qa);
    if (!p.qp) {
      qa.cap.max_inline_data = 0;  // not every device inlines
      p.qp = ibv_create_qp(pd_, &qa);
    }
    if (!p.qp) { *err = errno_text(("ibv_create_qp for rank " + std::to_string(r)).c_str()); return false; }
    max_inline_ = qa.cap.max_inline_data;
    qpn_peer_[p.qp->qp_num] = r;
    ibv_qp_attr at;
    std::memset(&at, 0, sizeof(at));
    at.qp_state = IBV_QPS_INIT;
    at.pkey_index = 0;
    at.port_num = dev_.port;
    at.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE;
    if (ibv_modify_qp(p.qp, &at, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS) != 0) {
      *err = errno_text("moving a queue pair to INIT");
      return false;
    }
    for (uint32_t s = 0; s < slots_; s++) {
      if (!repost_slot(r, s)) { *err = errno_text("posting the receive slots"); return false; }
    }
    // The initial postings are not credits to return: the peer starts with all of them.
    p.reposted = 0;
    p.reported = 0;
  }
  return true;
}

bool VerbsTransport::connect_qp(Peer& p, const AddressHeader& remote, uint32_t remote_qpn, std::string* err) {
  ibv_qp_attr at;
  std::memset(&at, 0, sizeof(at));
  at.qp_state = IBV_QPS_RTR;
  at.path_mtu = std::min(dev_.active_mtu, ibv_mtu(remote.active_mtu));
  at.dest_qp_num = remote_qpn;
  at.rq_psn = remote.psn;
  p.rd_atomic = std::min(rd_atomic_, remote.rd_atomic);
  at.max_dest_rd_atomic = uint8_t(p.rd_atomic);
  at.min_rnr_timer = 12;
  at.ah_attr.port_num = dev_.port;
  at.ah_attr.dlid = remote.lid;
  if (dev_.ethernet) {
    at.ah_attr.is_global = 1;
    std::memcpy(at.ah_attr.grh.dgid.raw, remote.gid, 16);
    at.ah_attr.grh.sgid_index = uint8_t(dev_.gid_index);
    at.ah_attr.grh.hop_limit = 64;
  }
  if (ibv_modify_qp(p.qp, &at,
                    IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                        IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER) != 0) {
    *err = errno_text(("connecting the queue pair to rank " + std::to_string(p.rank) + " on " + p.host + " (RTR)").c_str());
    return false;
  }
  std::memset(&at, 0, sizeof(at));
  at.qp_state = IBV_QPS_RTS;
  // kQpRetries + 1 tries of 4.096 us * 2^timeout: a peer silent for about
  // ZCMPI_VERBS_PEER_TIMEOUT_S (default 15 s: Soft-RoCE under emulation on a loaded host
  // stalls for a while; a retry costs nothing) is declared failed. Not 7 retries: Soft-RoCE
  // reads retry_cnt 7 as "retry forever" (rxe_comp.c), so a dead peer would never be noticed.
  at.timeout = qp_timeout_exponent(options_.verbs_peer_timeout_s);
  at.retry_cnt = kQpRetries;
  at.rnr_retry = 7;  // credits keep receivers ready; this is only insurance
  at.sq_psn = psn_;
  at.max_rd_atomic = uint8_t(p.rd_atomic);
  if (ibv_modify_qp(p.qp, &at,
                    IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
                        IBV_QP_MAX_QP_RD_ATOMIC) != 0) {
    *err = errno_text(("connecting the queue pair to rank " + std::to_string(p.rank) + " on " + p.host + " (RTS)").c_str());
    return false;
  }
  return true;
}

bool VerbsTransport::connect(const std::vector<std::vector<uint8_t>>& addresses, std::string* err) {
  const int n = options_.size;
  if (int(addresses.size()) != n) {
    *err = "expected " + std::to_string(n) + " verbs addresses, got " + std::to_string(addresses.size());
    return false;
  }
  LockGuard g(lock_);
  for (int r = 0; r < n; r++) {
    const std::vector<uint8_t>& a = addresses[size_t(r)];
    AddressHeader h;
    if (a.size() < sizeof(h)) {
      *err = "rank " + std::to_string(r) + " did not publish a verbs address (is it running another transport?)";
      return false;
    }
    std::memcpy(&h, a.data(), sizeof(h));
    h.host[sizeof(h.host) - 1] = 0;
    Peer& p = peers_[size_t(r)];
    p.host = h.host;
    if (h.magic != kAddressMagic || h.version != kAddressVersion || h.nranks != uint32_t(n) ||
        a.size() != sizeof(h) + size_t(n) * sizeof(uint32_t)) {
      *err = "rank " + std::to_string(r) + " on " + p.host + " published an address this verbs transport cannot use";
      return false;
    }
    if (h.slots != slots_ || h.slot_bytes != slot_bytes_) {
      *err = "rank " + std::to_string(r) + " on " + p.host +
             " uses another eager size or slot count (ZCMPI_VERBS_EAGER_MAX must be the same on every rank)";
      return false;
    }
    if (bool(h.ethernet) != dev_.ethernet) {
      *err = "rank " + std::to_string(r) + " on " + p.host + " is on " + (h.ethernet ? "RoCE" : "InfiniBand") +
             ", this rank on " + (dev_.ethernet ? "RoCE" : "InfiniBand");
      return false;
    }
    p.probe_addr = h.probe_addr;
    p.probe_rkey = h.probe_rkey;
    uint32_t qpn;
    std::memcpy(&qpn, a.data() + sizeof(h) + size_t(options_.rank) * sizeof(uint32_t), sizeof(qpn));
    if (!connect_qp(p, h, qpn, err)) return false;
  }
  connected_ = true;
  return true;
}

bool VerbsTransport::peer_failed(int rank) const {
  if (!failed_ || rank < 0 || rank >= options_.size) return false;
  return failed_[rank].load(std::memory_order_acquire);
}

// Not under the transport's lock: a thread holding it may be unmapping staging memory
// itself and waiting for the listener lock this runs under (Registrations locks its own).
uint8_t qp_timeout_exponent(double peer_timeout_s) {
  const double per_try_us = peer_timeout_s * 1e6 / (kQpRetries + 1);
  int e = int(std::lround(std::log2(per_try_us / 4.096)));
  return uint8_t(std::clamp(e, 1, 31));
}

void VerbsTransport::on_block_freed(void* ctx, const zc::memory::Block& b) {
  static_cast<VerbsTransport*>(ctx)->regs_.block_freed(b);
}

void VerbsTransport::on_staging_unmapped(void* ctx, const zc::memory::StagingRegion& r) {
  static_cast<VerbsTransport*>(ctx)->regs_.staging_unmapped(r);
}

std::vector<Counter> VerbsTransport::counters() const {
  const Registrations::Counts c = regs_.counts();
  // Cached ones made (each comm.alloc block and staging mapping once), and ones made for
  // one operation only (program memory without a device view, guard mode off).
  return {{"registrations made", c.cached_made},
          {"per-op registrations", c.per_op},
          {"completions by caller", pcounts_.by_caller.load(std::memory_order_relaxed)},
          {"completions by thread", pcounts_.by_thread.load(std::memory_order_relaxed)},
          {"progress thread sleeps", pcounts_.thread_sleeps.load(std::memory_order_relaxed)},
          {"progress thread wakes", pcounts_.thread_wakes.load(std::memory_order_relaxed)}};
}

void VerbsTransport::inject_qp_error(int rank) {
  if (rank < 0 || rank >= options_.size || !peers_[size_t(rank)].qp) return;
  ibv_qp_attr at;
  std::memset(&at, 0, sizeof(at));
  at.qp_state = IBV_QPS_ERR;
  ibv_modify_qp(peers_[size_t(rank)].qp, &at, IBV_QP_STATE);
}

void VerbsTransport::disconnect() {
  if (disconnected_ || !connected_) return;
  // Everything already handed to us reaches its peer (backlogs drained, sends acknowledged)
  // before the runtime's final fence; bounded, so a vanished peer cannot hang finalize.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    bool idle = true;
    {
      LockGuard g(lock_);
      for (Peer& p : peers_) {
        if (p.failed) continue;
        if (!p.backlog.empty() || p.sq_used > 0 || !p.read_wait.empty()) idle = false;
      }
      if (idle) disconnected_ = true;
    }
    if (idle || std::chrono::steady_clock::now() >= deadline) break;
    progress();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  disconnected_ = true;
}

void VerbsTransport::stop_progress() {
  stop_.store(true);
  wake_progress_thread();
  aside_word_.fetch_add(1);  // standing aside (stand_aside) is a futex wait, not epoll
  futex_wake_all(&aside_word_);
  if (thread_.joinable()) thread_.join();
}

void VerbsTransport::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  disconnect();
  stop_progress();
  if (listener_added_) {
    zc::memory::remove_free_listener(&VerbsTransport::on_block_freed, this);
    zc::memory::remove_staging_unmap_listener(&VerbsTransport::on_staging_unmapped, this);
  }
  listener_added_ = false;
  LockGuard g(lock_);
  for (Peer& p : peers_) {
    if (p.qp) ibv_destroy_qp(p.qp);
    p.qp = nullptr;
  }
  for (auto& kv : rndv_sends_) {
    regs_.release(&kv.second->mr);
    delete kv.second;
  }
  rndv_sends_.clear();
  for (RndvRecv* rr : rndv_recvs_) {
    regs_.release(&rr->mr);
    delete rr;
  }
  rndv_recvs_.clear();
  match_.for_each_posted([&](protocol::MatchEntry* e) {
    match_.remove_posted(e);
    delete reinterpret_cast<PostedRecv*>(e);
  });
  match_.for_each_unexpected([&](protocol::MatchEntry* e) {
    match_.remove_unexpected(e);
    delete reinterpret_cast<Unexpected*>(e);
  });
  regs_.clear();
  if (recv_mr_) ibv_dereg_mr(recv_mr_);
  if (send_mr_) ibv_dereg_mr(send_mr_);
  if (probe_mr_) ibv_dereg_mr(probe_mr_);
  recv_mr_ = send_mr_ = probe_mr_ = nullptr;
  if (probe_page_) munmap(probe_page_, 4096);
  probe_page_ = nullptr;
  if (cq_) ibv_destroy_cq(cq_);
  cq_ = nullptr;
  if (channel_) ibv_destroy_comp_channel(channel_);
  channel_ = nullptr;
  if (pd_) ibv_dealloc_pd(pd_);
  pd_ = nullptr;
  if (ctx_) ibv_close_device(ctx_);
  ctx_ = nullptr;
  if (recv_ring_) munmap(recv_ring_, recv_ring_bytes_);
  if (send_ring_) munmap(send_ring_, send_ring_bytes_);
  recv_ring_ = send_ring_ = nullptr;
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  epoll_fd_ = wake_fd_ = -1;
}

}  // namespace zc::transport::verbs
