// isend / irecv: ordering against overlapping requests, choosing the path of a message
// (immediate, copied, zero-copy through a device view, bounce buffer), posting it.
//
// A post is ordered like the program access it is (in_flight_ranges.h): before anything
// is read or posted, a send waits for the pending receives into its bytes and a receive for
// the pending sends from them. The wait happens here, on the posting thread, holding no
// lock: the requests it waits for are completed by the progress thread, exactly as a
// program access to those bytes would wait in the fault handler.
#include "guard/observation.h"
#include "memory/arena.h"
#include "protocol/collectives/collective.h"
#include "protocol/p2p_internal.h"
#include "protocol/tag.h"

namespace zc::protocol {

namespace {
// How long an ordering wait polls on the posting thread before it sleeps.
constexpr uint64_t kOrderSpinNs = 50 * 1000;
}  // namespace

namespace {
// Strict mode: a post on bytes MPI says belong to another request is a hazard like a
// program access (guard/observation.h reports it; it never waits).
void report_forbidden_post(const char* call, uint64_t id, const void* buf, size_t len, bool writes) {
  zc::guard::RequestInfo post;
  post.call = call;
  post.request_id = id;
  zc::guard::report_conflicting_post(buf, len, writes, post);
}
}  // namespace

namespace {
// Where a point-to-point operation of communicator `comm` goes on the wire: the
// communicator's p2p context, this rank's number in it (the tag's source field, so a
// receiver's status and ANY_SOURCE speak the communicator's numbering) and the world rank
// of `peer` (-1: any) for the transport, which addresses world ranks only.
struct Route {
  uint16_t context = kContextP2P;
  uint32_t self = 0;
  int32_t world_peer = -1;
};

bool route(const EngineConfig& config, Engine* e, uint32_t comm, int32_t peer, bool any_allowed, Route* out,
           std::string* err) {
  const char* what = any_allowed ? "source" : "dest";
  if (comm == 0) {
    if (peer < (any_allowed ? -1 : 0) || peer >= config.size) {
      *err = std::string(what) + " out of range";
      return false;
    }
    out->self = uint32_t(config.rank);
    out->world_peer = peer;
    return true;
  }
  std::shared_ptr<coll::CommInfo> c = coll::find_comm(e, comm);
  if (!c) {
    *err = "the communicator has been freed";
    return false;
  }
  if (peer < (any_allowed ? -1 : 0) || peer >= c->size) {
    *err = std::string(what) + " out of range for the communicator";
    return false;
  }
  out->context = p2p_context(comm);
  out->self = uint32_t(c->rank);
  out->world_peer = peer < 0 ? -1 : c->world[size_t(peer)];
  return true;
}
}  // namespace

bool Engine::waits_for_itself(const Request* r) {
  // Another rank, or any, may still finish it.
  if (r->world_peer != config_.rank) return false;
  const bool none_on_its_way = self_sent_.load(std::memory_order_acquire) == self_received_.load(std::memory_order_acquire);
  // A receive from this rank with no message of this rank on its way: only a send this
  // thread has not posted yet can satisfy it.
  if (r->kind == Kind::Recv) return none_on_its_way;
  // A send to this rank whose message no receive took (had one taken it, the count says
  // so and the send is only finishing), and no receive of this rank pending that could.
  if (none_on_its_way) return false;
  bool taker = false;
  table_.for_each([&](Request* q) {
    if (q->kind == Kind::Recv && q->in_flight.load(std::memory_order_acquire) &&
        (q->world_peer == config_.rank || q->world_peer == -1))
      taker = true;
  });
  return !taker;
}

bool Engine::order_after(Kind side, const void* buf, size_t len, const char* call, std::string* err) {
  for (int64_t slot; (slot = ranges_.find_overlap(side, buf, len)) >= 0;) {
    // The posting thread progresses first: what is already on its way lands meanwhile.
    if (poll(uint32_t(slot), kOrderSpinNs)) continue;
    const Request* r = table_.get(uint32_t(slot));
    if (waits_for_itself(r)) {
      char msg[320];
      if (side == Kind::Recv) {
        std::snprintf(msg, sizeof(msg),
                      "%s: its buffer is being written by %s #%llu (from this same rank, tag %lld), which only a later send "
                      "of this rank can satisfy: the %s would wait for itself. MPI forbids sending from a pending "
                      "receive's buffer; wait for the receive first",
                      call, r->call, static_cast<unsigned long long>(r->id), static_cast<long long>(r->tag), call);
      } else {
        std::snprintf(msg, sizeof(msg),
                      "%s: its buffer is being read by %s #%llu (to this same rank, tag %lld), which only a later receive "
                      "of this rank can take: the %s would wait for itself. MPI forbids receiving into a pending "
                      "send's buffer; wait for the send first",
                      call, r->call, static_cast<unsigned long long>(r->id), static_cast<long long>(r->tag), call);
      }
      *err = msg;
      return false;
    }
    wait(uint32_t(slot), 0);
  }
  return true;
}

PostResult Engine::isend(uint32_t slot, uint64_t id, const void* buf, size_t len, int dest, int32_t tag,
                         const char* js_stack, bool deferred, std::string* err, uint32_t comm) {
  Route to;
  if (!route(config_, this, comm, dest, false, &to, err)) return kFailed;
  if (tag < 0) {
    *err = "tag out of range";
    return kFailed;
  }
  const char* call = deferred ? "send" : "isend";
  if (config_.guard_mode == zc::guard::Mode::Strict) report_forbidden_post(call, id, buf, len, false);
  // A send reads its bytes: it carries what the receives still writing them deliver.
  if (!order_after(Kind::Recv, buf, len, call, err)) return kFailed;
  if (to.world_peer == config_.rank) self_sent_.fetch_add(1, std::memory_order_acq_rel);
  Request* r = prepare(slot, id, Kind::Send, err);
  if (!r) return kFailed;
  r->peer = dest;
  r->world_peer = to.world_peer;
  r->tag = tag;
  r->user_len = len;
  r->op.on_complete = p2p::on_complete;
  r->call = call;
  r->deferred = deferred;
  r->guard_addr = buf;
  if (js_stack) r->js_stack = js_stack;
  const uint64_t wire_tag = make_tag(to.context, to.self, uint32_t(tag));
  void* device = len ? zc::memory::device_address(buf, len) : nullptr;

  // Small messages: if the transport can finish at once (it copies the bytes), no guard is
  // needed at all: the buffer is the program's again when isend returns.
  const void* src = device ? device : buf;
  if (len <= config_.eager_copy_max && p2p::try_immediate_send(this, r, wire_tag, buf, device, len, &src))
    return kCompleted;
  if (p2p::send_is_copied(config_, device, len)) return p2p::post_copied_send(this, r, wire_tag, src, len, err);

  // Registered memory: zero-copy through the device view.
  const bool guarded_mode = len > 0 && config_.guard_mode != zc::guard::Mode::Off;
  r->phase.store(guarded_mode ? kUnguarded : kGuarded, std::memory_order_release);
  r->in_flight.store(true, std::memory_order_release);
  transport::Completion c;
  transport::Posted p = transport_->send(to.world_peer, wire_tag, device, len, &r->op, &c, false);
  if (p == transport::Posted::Done) {
    p2p::finish(r, c, true);
    return kCompleted;
  }
  if (deferred) return kPosted;
  return posted_unpolled(guarded_mode ? guard_now(slot, err) : kPosted, false);
}

PostResult Engine::irecv(uint32_t slot, uint64_t id, void* buf, size_t len, int32_t source, int64_t tag,
                         const char* js_stack, bool deferred, std::string* err, uint32_t comm) {
  Route from;
  if (!route(config_, this, comm, source, true, &from, err)) return kFailed;
  if (tag < -1 || tag > kMaxUserTag) {
    *err = "tag out of range";
    return kFailed;
  }
  const char* call = deferred ? "recv" : "irecv";
  if (config_.guard_mode == zc::guard::Mode::Strict) report_forbidden_post(call, id, buf, len, true);
  // A receive writes its bytes: it comes after the sends still reading them.
  if (!order_after(Kind::Send, buf, len, call, err)) return kFailed;
  Request* r = prepare(slot, id, Kind::Recv, err);
  if (!r) return kFailed;
  r->peer = source;
  r->world_peer = from.world_peer;
  r->self_in_comm = int32_t(from.self);
  r->tag = tag;
  r->user = buf;
  r->user_len = len;
  r->op.on_complete = p2p::on_complete;
  r->op.peer = from.world_peer;
  r->call = call;
  r->deferred = deferred;
  r->guard_addr = buf;
  if (js_stack) r->js_stack = js_stack;

  const bool any_source = source == kAnySource;
  const bool any_tag = tag == kAnyTag;
  if (!any_source && transport_->peer_failed(from.world_peer)) {
    transport::Completion c;
    c.result = transport::Result::PeerFailed;
    c.message = "the peer rank has failed";
    p2p::finish(r, c, true);
    return kCompleted;
  }
  const uint64_t wire_tag =
      make_tag(from.context, any_source ? 0 : uint32_t(source), any_tag ? 0 : uint32_t(tag));
  const uint64_t mask = make_mask(any_source, any_tag);

  void* target = buf;
  void* device = len ? zc::memory::device_address(buf, len) : nullptr;
  const bool guarded_mode = len > 0 && config_.guard_mode != zc::guard::Mode::Off;
  if (device) {
    target = device;
  } else if (guarded_mode) {
    // Plain memory: the transport writes a bounce buffer; finishing copies it into the
    // still-guarded user pages.
    r->bounce = bounce_.get(len, &r->bounce_cap);
    if (!r->bounce) {
      *err = "irecv: out of memory for a bounce buffer";
      publish_now(r, kErrTransport, source, int32_t(tag), 0, err->c_str());
      return kFailed;
    }
    target = r->bounce;
  }

  // No guard yet (never one in guard mode off or for an empty buffer).
  r->phase.store(guarded_mode ? kUnguarded : kGuarded, std::memory_order_release);
  r->in_flight.store(true, std::memory_order_release);
  transport::Completion c;
  transport::Posted p = transport_->recv(wire_tag, mask, target, len, &r->op, &c);
  if (p == transport::Posted::Done) {
    p2p::finish(r, c, true);
    return kCompleted;
  }
  // Still in flight and the program gets control back now: the guard goes on now.
  if (deferred) return kPosted;
  return posted_unpolled(guarded_mode ? guard_now(slot, err) : kPosted, false);
}

}  // namespace zc::protocol
