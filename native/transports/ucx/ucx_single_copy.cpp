// Same-host single-copy over UCX (transports/single_copy.h): the header sent in place of a
// large registered message, the receiver's copy out of the sender's pages, and the
// acknowledgement, a UCX active message, that completes the send.
//
// Everything here runs under lock_: posting (send/recv), the completion callbacks and the
// active-message handler (inside ucp_worker_progress), endpoint errors and teardown.
#include <cstring>

#include "memory/arena.h"
#include "protocol/tag.h"
#include "transports/ucx/ucx_transport.h"

namespace zc::transport::ucx {

using single_copy::Ack;
using single_copy::AckStatus;
using single_copy::Descriptor;

namespace {

constexpr unsigned kAckAmId = 7;
constexpr uint32_t kAddressMagic = 0x5a434144;  // "ZCAD": an address with a host identity
constexpr uint64_t kFlag = protocol::kTransportBit;

// What address() publishes before UCX's own worker address.
struct AddressHeader {
  uint32_t magic = kAddressMagic;
  uint32_t reserved = 0;
  single_copy::HostIdentity identity;
};

ucs_status_t ack_cb(void* arg, const void* /*header*/, size_t /*header_length*/, void* data, size_t length,
                    const ucp_am_recv_param_t* /*param*/) {
  if (length == sizeof(Ack)) {
    Ack a;
    std::memcpy(&a, data, sizeof(a));
    static_cast<UcxTransport*>(arg)->sc_on_ack(a);
  }
  return UCS_OK;
}

void ack_sent_cb(void* request, ucs_status_t /*status*/, void* user_data) {
  delete static_cast<Ack*>(user_data);
  ucp_request_free(request);
}

}  // namespace

// A single-copy send awaiting the receiver's acknowledgement.
struct UcxTransport::ScSend {
  UcxTransport* transport = nullptr;
  Op* op = nullptr;
  int dest = -1;
  Descriptor desc;              // the header; UCX may read it until the header's send completes
  bool header_in_flight = false;
  bool finished = false;        // op completed (acknowledged or failed)
};

namespace {

void header_sent_cb(void* request, ucs_status_t status, void* user_data) {
  auto* rec = static_cast<UcxTransport::ScSend*>(user_data);
  UcxTransport* t = rec->transport;
  ucp_request_free(request);
  t->send_done();
  t->sc_send_finished(rec, status);
}

}  // namespace

bool UcxTransport::sc_init(std::string* err) {
  identity_ok_ = single_copy::local_identity(&identity_);
  ucp_am_handler_param_t hp;
  std::memset(&hp, 0, sizeof(hp));
  hp.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_FLAGS |
                  UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG;
  hp.id = kAckAmId;
  hp.flags = UCP_AM_FLAG_WHOLE_MSG;
  hp.cb = ack_cb;
  hp.arg = this;
  ucs_status_t st = ucp_worker_set_am_recv_handler(worker_, &hp);
  if (st != UCS_OK) {
    *err = std::string("UCX active-message handler could not be set: ") + ucs_status_string(st);
    return false;
  }
  AddressHeader h;
  if (identity_ok_) h.identity = identity_;  // else an empty identity: no one is on our host
  std::vector<uint8_t> a(sizeof(h));
  std::memcpy(a.data(), &h, sizeof(h));
  a.insert(a.end(), address_.begin(), address_.end());
  address_.swap(a);
  return true;
}

bool UcxTransport::sc_connect(const std::vector<std::vector<uint8_t>>& addresses,
                              std::vector<const uint8_t*>* ucx_addr, std::string* err) {
  peer_identity_.assign(addresses.size(), single_copy::HostIdentity{});
  sc_peer_.assign(addresses.size(), 0);
  sc_receives_ = false;
  ucx_addr->assign(addresses.size(), nullptr);
  for (size_t r = 0; r < addresses.size(); r++) {
    AddressHeader h;
    if (addresses[r].size() <= sizeof(h)) {
      *err = "the address of rank " + std::to_string(r) + " is too short (a different zcmpi build?)";
      return false;
    }
    std::memcpy(&h, addresses[r].data(), sizeof(h));
    if (h.magic != kAddressMagic) {
      *err = "the address of rank " + std::to_string(r) + " is not a zcmpi UCX address (a different zcmpi build?)";
      return false;
    }
    (*ucx_addr)[r] = addresses[r].data() + sizeof(h);
    peer_identity_[r] = h.identity;
    // Both sides compute the same answer from the same two identities.
    const bool same = int(r) != options_.rank && identity_ok_ && identity_.same_host_as(h.identity);
    if (same) sc_receives_ = true;
    sc_peer_[r] = same && options_.single_copy_min > 0;
  }
  return true;
}

bool UcxTransport::sc_try_send(int dest, uint64_t tag, const void* buf, size_t len, Op* op, Completion* out,
                               Posted* posted) {
  if (options_.single_copy_min == 0 || len < options_.single_copy_min || !sc_peer_[size_t(dest)]) return false;
  memory::Block b;
  if (!memory::find_device_block(buf, len, &b) || b.fd < 0) return false;
  auto* rec = new ScSend;
  rec->transport = this;
  rec->op = op;
  rec->dest = dest;
  Descriptor& d = rec->desc;
  d.magic = single_copy::kMagic;
  d.sender = options_.rank;
  d.send_id = sc_next_id_++;
  d.generation = b.generation;
  d.fd = b.fd;
  d.offset = uint64_t(static_cast<const char*>(buf) - static_cast<const char*>(b.device));
  d.length = len;
  d.block_size = b.size;

  ucp_request_param_t p;
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_MEMORY_TYPE;
  p.cb.send = header_sent_cb;
  p.user_data = rec;
  p.memory_type = UCS_MEMORY_TYPE_HOST;
  ucs_status_ptr_t req = ucp_tag_send_nbx(endpoints_[size_t(dest)], &rec->desc, sizeof(Descriptor), tag | kFlag, &p);
  if (UCS_PTR_IS_ERR(req)) {
    delete rec;
    out->result = map_status(UCS_PTR_STATUS(req));
    out->message = ucs_status_string(UCS_PTR_STATUS(req));
    *posted = Posted::Done;
    return true;
  }
  rec->header_in_flight = req != nullptr;
  sc_sends_[d.send_id] = rec;
  op->handle = nullptr;  // nothing UCX could cancel: the send ends with the acknowledgement
  sc_sent_.fetch_add(1, std::memory_order_relaxed);
  sc_bytes_.fetch_add(len, std::memory_order_relaxed);
  posted_pending(req != nullptr);
  *posted = Posted::Pending;
  return true;
}

void UcxTransport::sc_send_finished(void* record, ucs_status_t status) {
  auto* rec = static_cast<ScSend*>(record);
  rec->header_in_flight = false;
  if (rec->finished) {
    delete rec;
    return;
  }
  if (status == UCS_OK) return;  // the acknowledgement completes it
  sc_sends_.erase(rec->desc.send_id);
  rec->finished = true;
  Completion c;
  c.result = map_status(status);
  c.message = ucs_status_string(status);
  Op* op = rec->op;
  delete rec;
  op->on_complete(op, c);
}

void UcxTransport::sc_on_ack(const Ack& ack) {
  auto it = sc_sends_.find(ack.send_id);
  if (it == sc_sends_.end()) return;
  ScSend* rec = it->second;
  sc_sends_.erase(it);
  rec->finished = true;
  Completion c;
  if (ack.status == AckStatus::Unreadable) {
    c.result = Result::Error;
    c.message = "the receiver could not map this rank's memory for a single-copy message (ZCMPI_SINGLE_COPY_MIN=0 turns single-copy off)";
  }
  Op* op = rec->op;
  if (!rec->header_in_flight) delete rec;
  op->on_complete(op, c);
}

void UcxTransport::sc_fail_sends(int rank, Result result, const char* why) {
  std::vector<Op*> failed;
  for (auto it = sc_sends_.begin(); it != sc_sends_.end();) {
    ScSend* rec = it->second;
    if (rank >= 0 && rec->dest != rank) {
      ++it;
      continue;
    }
    it = sc_sends_.erase(it);
    rec->finished = true;
    failed.push_back(rec->op);
    if (!rec->header_in_flight) delete rec;
  }
  // Completed after the walk: a completion may post (and so insert) at once.
  for (Op* op : failed) {
    Completion c;
    c.result = result;
    c.message = why;
    op->on_complete(op, c);
  }
}

void UcxTransport::finish_receive(Op* op, Completion* c) {
  const unsigned char* arrived = op->landed ? op->landing : static_cast<const unsigned char*>(op->recv_buf);
  if (c->result == Result::Ok && (c->sender_tag & kFlag) != 0) {
    c->sender_tag &= ~kFlag;
    Descriptor d;
    if (c->length == sizeof(d)) std::memcpy(&d, arrived, sizeof(d));
    if (c->length != sizeof(d) || d.magic != single_copy::kMagic || d.sender < 0 ||
        size_t(d.sender) >= peer_identity_.size()) {
      c->result = Result::Error;
      c->message = "a malformed single-copy header arrived";
      return;
    }
    sc_received_.fetch_add(1, std::memory_order_relaxed);
    const char* why = "";
    const unsigned char* base = sc_maps_.map(d, peer_identity_[size_t(d.sender)].pid, &why);
    AckStatus status = AckStatus::Ok;
    size_t n = size_t(d.length);
    if (!base) {
      status = AckStatus::Unreadable;
      c->result = Result::Error;
      c->message = why;
    } else {
      // Truncated: the receive gets the message's first bytes, like a truncated eager message.
      if (n > op->recv_len) {
        n = op->recv_len;
        status = AckStatus::Truncated;
        c->result = Result::Truncated;
      }
      if (n) std::memcpy(op->recv_buf, base + d.offset, n);
    }
    c->length = size_t(d.length);
    sc_acks_.emplace_back(int(d.sender), Ack{d.send_id, status, 0});
    return;
  }
  if (op->landed && c->result == Result::Ok) {
    if (c->length > op->recv_len) c->result = Result::Truncated;  // length: the message's
    else if (c->length) std::memcpy(op->recv_buf, op->landing, c->length);
  }
}

void UcxTransport::sc_flush_acks() {
  if (sc_acks_.empty()) return;
  std::vector<std::pair<int, Ack>> acks;
  acks.swap(sc_acks_);
  for (const auto& [rank, ack] : acks) {
    if (size_t(rank) >= endpoints_.size() || !endpoints_[size_t(rank)]) continue;  // closed: its send fails there
    auto* a = new Ack(ack);
    ucp_request_param_t p;
    p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_MEMORY_TYPE;
    p.cb.send = ack_sent_cb;
    p.user_data = a;
    p.memory_type = UCS_MEMORY_TYPE_HOST;
    ucs_status_ptr_t req = ucp_am_send_nbx(endpoints_[size_t(rank)], kAckAmId, nullptr, 0, a, sizeof(Ack), &p);
    if (req == nullptr || UCS_PTR_IS_ERR(req)) delete a;
  }
}

unsigned UcxTransport::progress_worker() {
  unsigned n = ucp_worker_progress(worker_);
  sc_flush_acks();
  return n;
}

std::vector<Counter> UcxTransport::counters() const {
  return {
      {"single-copy sends", sc_sent_.load(std::memory_order_relaxed)},
      {"single-copy bytes", sc_bytes_.load(std::memory_order_relaxed)},
      {"single-copy receives", sc_received_.load(std::memory_order_relaxed)},
      {"single-copy mappings", sc_maps_.maps_made()},
      {"single-copy reuses", sc_maps_.hits()},
  };
}

}  // namespace zc::transport::ucx
