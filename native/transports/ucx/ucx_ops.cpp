// Posting sends and receives to the UCX worker, and the completion callbacks.
#include <cstring>

#include "protocol/tag.h"
#include "transports/ucx/ucx_transport.h"

namespace zc::transport::ucx {

namespace {

void send_cb(void* request, ucs_status_t status, void* user_data) {
  auto* op = static_cast<Op*>(user_data);
  static_cast<UcxTransport*>(op->owner)->send_done();
  Completion c;
  c.result = map_status(status);
  if (status != UCS_OK) c.message = ucs_status_string(status);
  op->handle = nullptr;
  ucp_request_free(request);
  op->on_complete(op, c);
}

// A receive that matches a message already waiting completes inside ucp_tag_recv_nbx. UCX
// 1.13 does not fill param->recv_info on that path (the sender's tag and the length would be
// lost), so receives are posted with NO_IMM_CMPL: the callback then runs inline, and this
// marker tells it to hand the result to the posting call instead of completing the op.
thread_local Op* tls_posting = nullptr;
thread_local bool tls_inline_done = false;
thread_local Completion tls_inline;

void recv_cb(void* request, ucs_status_t status, const ucp_tag_recv_info_t* info, void* user_data) {
  auto* op = static_cast<Op*>(user_data);
  Completion c;
  c.result = map_status(status);
  if (status != UCS_OK) c.message = ucs_status_string(status);
  // UCX fills info for successful and truncated receives; a canceled one has none.
  if (info && (status == UCS_OK || status == UCS_ERR_MESSAGE_TRUNCATED)) {
    c.sender_tag = info->sender_tag;
    c.length = info->length;
  }
  op->handle = nullptr;
  ucp_request_free(request);
  auto* t = static_cast<UcxTransport*>(op->owner);
  if (t->receives_may_land() || (c.sender_tag & protocol::kTransportBit) != 0) t->finish_receive(op, &c);
  if (op == tls_posting) {
    tls_inline = c;
    tls_inline_done = true;
    return;
  }
  op->on_complete(op, c);
}

}  // namespace

Posted UcxTransport::send(int dest, uint64_t tag, const void* buf, size_t len, Op* op, Completion* out,
                          bool force_immediate) {
  if (dest < 0 || dest >= int(endpoints_.size()) || !endpoints_[dest]) {
    out->result = Result::Error;
    out->message = "no connection to that rank";
    return Posted::Done;
  }
  if (failed_[dest].load(std::memory_order_acquire)) {
    out->result = Result::PeerFailed;
    out->message = "the peer rank has failed";
    return Posted::Done;
  }
  ucp_request_param_t p;
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA |
                   UCP_OP_ATTR_FIELD_MEMORY_TYPE;
  p.cb.send = send_cb;
  p.user_data = op;
  // Host memory always: skips UCX's memory-type detection on every post.
  p.memory_type = UCS_MEMORY_TYPE_HOST;
  if (force_immediate) p.op_attr_mask |= UCP_OP_ATTR_FLAG_FORCE_IMM_CMPL;
  op->peer = dest;
  op->is_recv = false;
  op->owner = this;

  LockGuard g(lock_);
  // Registered memory to a rank of this host: the receiver copies it out of our pages.
  if (Posted sc; !force_immediate && sc_try_send(dest, tag, buf, len, op, out, &sc)) return sc;
  ucs_status_ptr_t req = ucp_tag_send_nbx(endpoints_[dest], buf, len, tag, &p);
  if (req == nullptr) {
    out->result = Result::Ok;
    return Posted::Done;
  }
  if (UCS_PTR_IS_ERR(req)) {
    ucs_status_t st = UCS_PTR_STATUS(req);
    if (force_immediate && st == UCS_ERR_NO_RESOURCE) return Posted::WouldBlock;
    out->result = map_status(st);
    out->message = ucs_status_string(st);
    return Posted::Done;
  }
  // The callback cannot run before this store: it only runs inside progress, under lock_.
  op->handle = req;
  posted_pending(true);
  return Posted::Pending;
}

Posted UcxTransport::recv(uint64_t tag, uint64_t mask, void* buf, size_t len, Op* op, Completion* out) {
  ucp_request_param_t p;
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA |
                   UCP_OP_ATTR_FIELD_MEMORY_TYPE | UCP_OP_ATTR_FLAG_NO_IMM_CMPL;
  p.cb.recv = recv_cb;
  p.user_data = op;
  p.memory_type = UCS_MEMORY_TYPE_HOST;
  op->is_recv = true;
  op->owner = this;
  op->recv_buf = buf;
  op->recv_len = len;
  // A single-copy header may arrive in place of a large message: a buffer too small for
  // it receives into op->landing (finish_receive moves what arrived). The transport's tag
  // bit is never matched: the header matches the receive its bytes would have.
  op->landed = sc_receives_ && len < sizeof(single_copy::Descriptor);
  void* const target = op->landed ? static_cast<void*>(op->landing) : buf;
  const size_t target_len = op->landed ? sizeof(op->landing) : len;
  mask &= ~protocol::kTransportBit;

  LockGuard g(lock_);
  // Saved and restored: a completion callback may post a receive of its own.
  Op* const outer = tls_posting;
  const bool outer_done = tls_inline_done;
  const Completion outer_c = tls_inline;
  tls_posting = op;
  tls_inline_done = false;
  ucs_status_ptr_t req = ucp_tag_recv_nbx(worker_, target, target_len, tag, mask, &p);
  const bool inline_done = tls_inline_done;
  const Completion inline_c = tls_inline;
  tls_posting = outer;
  tls_inline_done = outer_done;
  tls_inline = outer_c;
  sc_flush_acks();  // a header that matched inside the call was copied: acknowledge it
  if (inline_done) {
    // Completed inside the call (the request was already freed by the callback).
    *out = inline_c;
    return Posted::Done;
  }
  if (UCS_PTR_IS_ERR(req)) {
    ucs_status_t st = UCS_PTR_STATUS(req);
    out->result = map_status(st);
    out->message = ucs_status_string(st);
    return Posted::Done;
  }
  if (req == nullptr) {  // not expected with NO_IMM_CMPL; nothing more is known
    out->result = Result::Ok;
    out->sender_tag = tag;
    out->length = len;
    return Posted::Done;
  }
  // The callback cannot run before this store: it only runs inside progress, under lock_.
  op->handle = req;
  posted_pending(false);
  return Posted::Pending;
}

void UcxTransport::cancel(Op* op) {
  LockGuard g(lock_);
  if (op->handle && worker_) ucp_request_cancel(worker_, op->handle);
}

unsigned UcxTransport::progress() {
  LockGuard g(lock_);
  if (!worker_) return 0;
  const unsigned handed = deferred_.drain();
  return handed + progress_worker();
}

}  // namespace zc::transport::ucx
