// Posting, matching, eager and rendezvous for the verbs transport (see verbs_transport.h).
// Everything here runs under lock_.
#include <algorithm>
#include <cstring>

#include "transports/verbs/verbs_transport.h"

namespace zc::transport::verbs {

namespace {

// Messages for Completion::message that outlive the call (the protocol copies them at once).
thread_local std::string tls_error;

Completion failed_with(Result r, const std::string& why) {
  tls_error = why;
  Completion c;
  c.result = r;
  c.message = tls_error.c_str();
  return c;
}

size_t body_bytes(const OutMsg& m) {
  switch (m.type) {
    case MsgType::Eager: return m.len;
    case MsgType::Rts: return sizeof(RtsBody);
    case MsgType::Fin: return sizeof(FinBody);
    case MsgType::Credit: return 0;
  }
  return 0;
}

}  // namespace

void VerbsTransport::complete(Op* op, const Completion& c) {
  op->handle = nullptr;
  pending_.fetch_sub(1, std::memory_order_relaxed);
  op->on_complete(op, c);
}

bool VerbsTransport::can_send(Peer& p, MsgType type) const {
  const uint32_t in_use = p.sent - p.peer_reposted;
  const uint32_t avail = in_use >= p.slots ? 0 : p.slots - in_use;
  // The last slot is only ever used by a Credit message (see verbs_transport.h).
  const uint32_t need = type == MsgType::Credit ? 1 : 2;
  return avail >= need && !free_send_slots_.empty() && p.sq_used < sq_depth_;
}

bool VerbsTransport::post_msg(Peer& p, const OutMsg& m) {
  const uint32_t s = free_send_slots_.back();
  free_send_slots_.pop_back();
  char* buf = send_slot(s);
  MsgHeader h;
  std::memset(&h, 0, sizeof(h));
  h.type = uint8_t(m.type);
  h.credits = p.reposted;
  h.tag = m.tag;
  h.len = m.len;
  std::memcpy(buf, &h, sizeof(h));
  const size_t body = body_bytes(m);
  switch (m.type) {
    case MsgType::Eager:
      if (m.len) std::memcpy(buf + sizeof(h), m.payload, m.len);
      break;
    case MsgType::Rts: std::memcpy(buf + sizeof(h), &m.rts, sizeof(m.rts)); break;
    case MsgType::Fin: std::memcpy(buf + sizeof(h), &m.fin, sizeof(m.fin)); break;
    case MsgType::Credit: break;
  }
  ibv_sge sge;
  sge.addr = reinterpret_cast<uintptr_t>(buf);
  sge.length = uint32_t(sizeof(h) + body);
  sge.lkey = send_mr_->lkey;
  ibv_send_wr wr;
  std::memset(&wr, 0, sizeof(wr));
  wr.wr_id = wr_id(kWrSend, s);
  wr.sg_list = &sge;
  wr.num_sge = 1;
  wr.opcode = IBV_WR_SEND;
  wr.send_flags = IBV_SEND_SIGNALED;
  if (sge.length <= max_inline_) wr.send_flags |= IBV_SEND_INLINE;
  ibv_send_wr* bad = nullptr;
  const int rc = ibv_post_send(p.qp, &wr, &bad);
  if (rc != 0) {
    free_send_slots_.push_back(s);
    fail_peer(p.rank, std::string("posting a send failed: ") + std::strerror(rc));
    return false;
  }
  slot_owner_[s] = p.rank;
  p.reported = p.reposted;
  p.sent++;
  p.sq_used++;
  return true;
}

void VerbsTransport::drain_backlog(Peer& p) {
  while (!p.failed && !p.backlog.empty() && can_send(p, p.backlog.front().type)) {
    OutMsg m = p.backlog.front();
    p.backlog.pop_front();
    if (!post_msg(p, m)) return;  // fail_peer failed the rest
    if (m.op) complete(m.op, Completion{});  // eager: the bytes are in our send slot now
  }
  pump_reads(p);
}

void VerbsTransport::after_pass() {
  for (Peer& p : peers_) {
    if (p.failed) continue;
    if (!p.backlog.empty() || !p.read_wait.empty()) drain_backlog(p);
    // Explicit credits when many are owed and nothing else carries them soon (also while
    // finalizing: a peer still draining its backlog toward us needs them).
    const uint32_t owed = p.reposted - p.reported;
    if (owed >= p.slots / 2 && can_send(p, MsgType::Credit)) {
      OutMsg m;
      m.type = MsgType::Credit;
      post_msg(p, m);
    }
  }
}

Posted VerbsTransport::send(int dest, uint64_t tag, const void* buf, size_t len, Op* op, Completion* out,
                            bool force_immediate) {
  if (dest < 0 || dest >= options_.size || !connected_) {
    out->result = Result::Error;
    out->message = "no connection to that rank";
    return Posted::Done;
  }
  op->peer = dest;
  op->is_recv = false;
  op->owner = this;
  op->handle = nullptr;
  LockGuard g(lock_);
  Peer& p = peers_[size_t(dest)];
  if (p.failed) {
    *out = failed_with(Result::PeerFailed, p.why);
    return Posted::Done;
  }
  if (len <= eager_max_) {
    OutMsg m;
    m.type = MsgType::Eager;
    m.tag = tag;
    m.payload = buf;
    m.len = uint32_t(len);
    if (p.backlog.empty() && can_send(p, MsgType::Eager)) {
      if (!post_msg(p, m)) {
        *out = failed_with(Result::PeerFailed, p.why);
        return Posted::Done;
      }
      out->result = Result::Ok;
      return Posted::Done;
    }
    if (force_immediate) return Posted::WouldBlock;
    m.op = op;
    op->handle = &p;
    p.backlog.push_back(m);
    pending_.fetch_add(1, std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_acquire)) wake_progress_thread();
    return Posted::Pending;
  }
  if (force_immediate) return Posted::WouldBlock;
  // Rendezvous: the receiver reads our buffer; it must stay registered until Fin.
  MrRef mr;
  std::string err;
  if (!regs_.acquire(buf, len, &mr, &err)) {
    *out = failed_with(Result::Error, err);
    return Posted::Done;
  }
  auto* rs = new RndvSend();
  rs->op = op;
  rs->peer = dest;
  rs->id = next_send_id_++;
  rs->mr = mr;
  rndv_sends_[rs->id] = rs;
  op->handle = rs;
  pending_.fetch_add(1, std::memory_order_seq_cst);
  OutMsg m;
  m.type = MsgType::Rts;
  m.tag = tag;
  m.rts.addr = reinterpret_cast<uintptr_t>(buf);
  m.rts.len = len;
  m.rts.send_id = rs->id;
  m.rts.rkey = mr.mr->rkey;
  if (p.backlog.empty() && can_send(p, MsgType::Rts)) {
    post_msg(p, m);  // on failure fail_peer completed the op already
  } else {
    p.backlog.push_back(m);
    if (sleeping_.load(std::memory_order_acquire)) wake_progress_thread();
  }
  return Posted::Pending;
}

Posted VerbsTransport::recv(uint64_t tag, uint64_t mask, void* buf, size_t len, Op* op, Completion* out) {
  op->is_recv = true;
  op->owner = this;
  op->handle = nullptr;
  LockGuard g(lock_);
  protocol::MatchEntry* e = match_.match_posting(tag, mask);
  if (!e) {
    auto* pr = new PostedRecv();
    pr->match.tag = tag;
    pr->match.mask = mask;
    pr->op = op;
    pr->buf = buf;
    pr->len = len;
    op->handle = pr;
    match_.add_posted(&pr->match);
    pending_.fetch_add(1, std::memory_order_seq_cst);
    return Posted::Pending;
  }
  auto* u = reinterpret_cast<Unexpected*>(e);
  std::unique_ptr<Unexpected> own(u);
  if (u->type == MsgType::Eager) {
    out->sender_tag = u->match.tag;
    out->length = u->data.size();
    if (u->data.size() > len) {
      out->result = Result::Truncated;
    } else {
      if (!u->data.empty()) std::memcpy(buf, u->data.data(), u->data.size());
      out->result = Result::Ok;
    }
    return Posted::Done;
  }
  pending_.fetch_add(1, std::memory_order_seq_cst);
  Completion now;
  if (start_rndv_recv(u->peer, u->match.tag, u->rts, op, buf, len, &now)) return Posted::Pending;
  pending_.fetch_sub(1, std::memory_order_relaxed);
  *out = now;
  return Posted::Done;
}

bool VerbsTransport::start_rndv_recv(int peer, uint64_t sender_tag, const RtsBody& rts, Op* op, void* buf,
                                     size_t len, Completion* now) {
  Peer& p = peers_[size_t(peer)];
  if (p.failed) {
    *now = failed_with(Result::PeerFailed, p.why);
    now->sender_tag = sender_tag;
    return false;
  }
  if (rts.len > len) {
    send_fin(peer, rts.send_id);  // the sender's buffer is free: nothing will be read
    *now = Completion{};
    now->result = Result::Truncated;
    now->sender_tag = sender_tag;
    now->length = rts.len;
    return false;
  }
  auto* rr = new RndvRecv();
  rr->op = op;
  rr->peer = peer;
  rr->buf = static_cast<char*>(buf);
  rr->len = rts.len;
  rr->sender_tag = sender_tag;
  rr->rts = rts;
  std::string err;
  if (!regs_.acquire(buf, rts.len, &rr->mr, &err)) {
    delete rr;
    send_fin(peer, rts.send_id);
    *now = failed_with(Result::Error, err);
    now->sender_tag = sender_tag;
    return false;
  }
  op->handle = rr;
  rndv_recvs_.push_back(rr);
  p.read_wait.push_back(rr);
  pump_reads(p);
  return true;
}

void VerbsTransport::pump_reads(Peer& p) {
  while (!p.failed && !p.read_wait.empty() && p.reads_in_flight < p.rd_atomic && p.sq_used < sq_depth_) {
    RndvRecv* rr = p.read_wait.front();
    const size_t chunk = std::min<uint64_t>(max_msg_, rr->len - rr->next_offset);
    ibv_sge sge;
    sge.addr = reinterpret_cast<uintptr_t>(rr->buf + rr->next_offset);
    sge.length = uint32_t(chunk);
    sge.lkey = rr->mr.mr->lkey;
    ibv_send_wr wr;
    std::memset(&wr, 0, sizeof(wr));
    wr.wr_id = wr_id(kWrRead, reinterpret_cast<uintptr_t>(rr));
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.opcode = IBV_WR_RDMA_READ;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.wr.rdma.remote_addr = rr->rts.addr + rr->next_offset;
    wr.wr.rdma.rkey = rr->rts.rkey;
    // Test hook: the queue pair breaks just before this READ, which then completes flushed.
    if (inject_rank_ == p.rank && reads_posted_ + 1 == uint64_t(inject_after_reads_ > 0 ? inject_after_reads_ : 1))
      inject_qp_error(p.rank);
    ibv_send_wr* bad = nullptr;
    const int rc = ibv_post_send(p.qp, &wr, &bad);
    if (rc != 0) {
      fail_peer(p.rank, std::string("posting an RDMA READ failed: ") + std::strerror(rc));
      return;
    }
    rr->next_offset += chunk;
    rr->reads_out++;
    p.reads_in_flight++;
    p.sq_used++;
    if (rr->next_offset == rr->len) p.read_wait.pop_front();
    reads_posted_++;
  }
}

void VerbsTransport::on_read_done(RndvRecv* rr) {
  Peer& p = peers_[size_t(rr->peer)];
  p.reads_in_flight--;
  p.sq_used--;
  rr->reads_out--;
  if (rr->reads_out == 0 && rr->next_offset == rr->len) finish_rndv_recv(rr, Completion{});
}

void VerbsTransport::finish_rndv_recv(RndvRecv* rr, Completion c) {
  auto it = std::find(rndv_recvs_.begin(), rndv_recvs_.end(), rr);
  if (it != rndv_recvs_.end()) rndv_recvs_.erase(it);
  regs_.release(&rr->mr);
  Peer& p = peers_[size_t(rr->peer)];
  if (c.result == Result::Ok) {
    send_fin(rr->peer, rr->rts.send_id);
    c.length = rr->len;
  }
  c.sender_tag = rr->sender_tag;
  Op* op = rr->op;
  (void)p;
  delete rr;
  complete(op, c);
}

void VerbsTransport::send_fin(int peer, uint64_t send_id) {
  Peer& p = peers_[size_t(peer)];
  if (p.failed) return;
  OutMsg m;
  m.type = MsgType::Fin;
  m.fin.send_id = send_id;
  if (p.backlog.empty() && can_send(p, MsgType::Fin)) post_msg(p, m);
  else p.backlog.push_back(m);
}

bool VerbsTransport::repost_slot(int peer, uint32_t slot) {
  ibv_sge sge;
  sge.addr = reinterpret_cast<uintptr_t>(recv_slot(peer, slot));
  sge.length = uint32_t(slot_bytes_);
  sge.lkey = recv_mr_->lkey;
  ibv_recv_wr wr;
  std::memset(&wr, 0, sizeof(wr));
  wr.wr_id = wr_id(kWrRecv, (uint64_t(peer) << 24) | slot);
  wr.sg_list = &sge;
  wr.num_sge = 1;
  ibv_recv_wr* bad = nullptr;
  Peer& p = peers_[size_t(peer)];
  if (ibv_post_recv(p.qp, &wr, &bad) != 0) return false;
  p.reposted++;
  return true;
}

void VerbsTransport::on_recv_slot(int peer, uint32_t slot, uint32_t byte_len) {
  Peer& p = peers_[size_t(peer)];
  const char* s = recv_slot(peer, slot);
  MsgHeader h;
  if (byte_len < sizeof(h)) {
    fail_peer(peer, "a malformed message arrived (" + std::to_string(byte_len) + " bytes)");
    return;
  }
  std::memcpy(&h, s, sizeof(h));
  p.peer_reposted = h.credits;  // cumulative; messages arrive in order
  const char* body = s + sizeof(h);
  switch (MsgType(h.type)) {
    case MsgType::Credit:
      repost_slot(peer, slot);
      return;
    case MsgType::Eager: {
      if (h.len > eager_max_ || sizeof(h) + h.len > byte_len) {
        fail_peer(peer, "a malformed eager message arrived");
        return;
      }
      protocol::MatchEntry* e = match_.match_arrival(h.tag);
      if (!e) {
        auto* u = new Unexpected();
        u->match.tag = h.tag;
        u->peer = peer;
        u->type = MsgType::Eager;
        u->data.assign(body, body + h.len);
        repost_slot(peer, slot);
        match_.add_unexpected(&u->match);
        return;
      }
      std::unique_ptr<PostedRecv> pr(reinterpret_cast<PostedRecv*>(e));
      Completion c;
      c.sender_tag = h.tag;
      c.length = h.len;
      if (h.len > pr->len) c.result = Result::Truncated;
      else if (h.len) std::memcpy(pr->buf, body, h.len);  // eager copy-out
      repost_slot(peer, slot);
      complete(pr->op, c);
      return;
    }
    case MsgType::Rts: {
      RtsBody rts;
      std::memcpy(&rts, body, sizeof(rts));
      repost_slot(peer, slot);
      protocol::MatchEntry* e = match_.match_arrival(h.tag);
      if (!e) {
        auto* u = new Unexpected();
        u->match.tag = h.tag;
        u->peer = peer;
        u->type = MsgType::Rts;
        u->rts = rts;
        match_.add_unexpected(&u->match);
        return;
      }
      std::unique_ptr<PostedRecv> pr(reinterpret_cast<PostedRecv*>(e));
      Completion now;
      if (!start_rndv_recv(peer, h.tag, rts, pr->op, pr->buf, pr->len, &now)) complete(pr->op, now);
      return;
    }
    case MsgType::Fin: {
      FinBody fin;
      std::memcpy(&fin, body, sizeof(fin));
      repost_slot(peer, slot);
      auto it = rndv_sends_.find(fin.send_id);
      if (it == rndv_sends_.end() || it->second->peer != peer) {
        fail_peer(peer, "a rendezvous completion named a send that does not exist");
        return;
      }
      RndvSend* rs = it->second;
      rndv_sends_.erase(it);
      regs_.release(&rs->mr);
      Op* op = rs->op;
      delete rs;
      complete(op, Completion{});
      return;
    }
  }
  fail_peer(peer, "a message of unknown type " + std::to_string(h.type) + " arrived");
}

void VerbsTransport::cancel(Op* op) {
  LockGuard g(lock_);
  if (!op->is_recv || !op->handle) return;
  auto* maybe_rr = static_cast<RndvRecv*>(op->handle);
  if (std::find(rndv_recvs_.begin(), rndv_recvs_.end(), maybe_rr) != rndv_recvs_.end()) return;  // reading: let it finish
  auto* pr = static_cast<PostedRecv*>(op->handle);
  if (!match_.remove_posted(&pr->match)) return;
  delete pr;
  Completion c;
  c.result = Result::Canceled;
  c.message = "canceled";
  complete(op, c);
}

void VerbsTransport::fail_peer(int rank, const std::string& why) {
  Peer& p = peers_[size_t(rank)];
  if (p.failed) return;
  p.failed = true;
  p.why = "rank " + std::to_string(rank) + (p.host.empty() ? "" : " on " + p.host) + ": " + why;
  failed_[rank].store(true, std::memory_order_release);
  // The NIC stops every transfer on this queue pair before any buffer it was reading or
  // writing goes back to the program: the error state stops it, and destroying the queue
  // pair is the fence (once ibv_destroy_qp returns, the device touches none of its
  // memory again), so nothing depends on when or whether the device flushes its work.
  inject_qp_error(rank);
  if (p.qp && rank != options_.rank) {
    ibv_destroy_qp(p.qp);
    p.qp = nullptr;
    reclaim_send_slots(rank);
    p.sq_used = 0;
    p.reads_in_flight = 0;
  }
  const std::string why_copy = p.why;

  std::deque<OutMsg> backlog;
  backlog.swap(p.backlog);
  p.read_wait.clear();
  std::vector<Op*> doomed;
  for (const OutMsg& m : backlog)
    if (m.op) doomed.push_back(m.op);
  for (auto it = rndv_sends_.begin(); it != rndv_sends_.end();) {
    if (it->second->peer == rank) {
      regs_.release(&it->second->mr);
      doomed.push_back(it->second->op);
      delete it->second;
      it = rndv_sends_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<RndvRecv*> reads;
  for (RndvRecv* rr : rndv_recvs_)
    if (rr->peer == rank) reads.push_back(rr);
  for (Op* op : doomed) complete(op, failed_with(Result::PeerFailed, why_copy));
  for (RndvRecv* rr : reads) finish_rndv_recv(rr, failed_with(Result::PeerFailed, why_copy));
  // Receives that only this rank (or any rank) could satisfy: the protocol cancels them.
  if (failure_fn_) failure_fn_(failure_ctx_, rank, why_copy.c_str());
}

void VerbsTransport::reclaim_send_slots(int rank) {
  // The destroyed queue pair's sends never complete: their slots are free again.
  for (uint32_t s = 0; s < send_slots_; s++) {
    if (slot_owner_[s] != rank) continue;
    slot_owner_[s] = -1;
    free_send_slots_.push_back(s);
  }
}

}  // namespace zc::transport::verbs
