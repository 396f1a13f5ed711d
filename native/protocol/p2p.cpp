// isend / irecv: where guards, device views, bounce buffers and the transport meet.
//
// Guards and posting. isend/irecv return control to the program while the transfer runs, so
// their guard is in place before they return. It goes on right after the post, and only if
// the operation did not complete inside the call: the program cannot run between the post
// and the guard (it is inside isend/irecv), so nothing can race in that window, and every
// message that completes at once (a receive whose message was already waiting, a send the
// transport copied) costs no protection change at all: measured, a guard installed first
// and lifted at once cost two mprotect calls per small message and halved small-message
// bandwidth. If the operation completes on another thread while the guard is going on, the
// phase protocol below hands the finish to whichever thread comes second.
//
// The blocking forms (send/recv in the runtime) post "deferred": no guard while the calling
// thread spins waiting for completion (the program cannot run, so it cannot touch the
// buffer); guard_now() installs it only if the spin ends first. Posting and completion race
// through Request::phase (request_table.h); every transition is a CAS, and the thread that
// loses hands over to the one that wins, so no thread ever waits for another.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "memory/arena.h"
#include "protocol/engine.h"
#include "protocol/tag.h"
#include "transports/futex.h"

namespace zc::protocol {

namespace {

using transport::Completion;
using transport::Op;
using transport::Posted;
using transport::Result;

int32_t error_code(Result r, const Request* req) {
  switch (r) {
    case Result::Ok:
      return kErrNone;
    case Result::Truncated:
      return kErrTruncate;
    case Result::Canceled:
      return req && req->peer_failed.load(std::memory_order_acquire) ? kErrPeer : kErrCanceled;
    case Result::PeerFailed:
      return kErrPeer;
    case Result::Error:
      break;
  }
  return kErrTransport;
}

// A copied send: owns its bytes, so the program's request completed at post time.
struct InternalSend {
  Op op;  // first member
  Engine* engine = nullptr;
  int dest = -1;
  size_t len = 0;
  void* data = nullptr;  // from the bounce pool (null for 0 bytes)
  size_t cap = 0;
};

void free_internal(InternalSend* s) {
  Engine* e = s->engine;
  if (s->data) e->bounce_pool().put(s->data, s->cap);
  delete s;
  e->internal_in_flight_counter().fetch_sub(1, std::memory_order_acq_rel);
}

void on_internal_send(Op* op, const Completion& c) {
  auto* s = reinterpret_cast<InternalSend*>(op);
  if (c.result != Result::Ok) {
    char msg[200];
    std::snprintf(msg, sizeof(msg), "a %zu-byte send to rank %d (copied, its request completed at isend) failed: %s",
                  s->len, s->dest, c.result == Result::PeerFailed ? "the peer rank has failed" : c.message);
    s->engine->record_background_error(msg);
  }
  free_internal(s);
}

void finish_send(Request* r, const Completion& c, bool immediate) {
  r->engine->shared_guards().release(r->guard);
  r->guard = nullptr;
  int32_t err = error_code(c.result, r);
  char msg[200] = {0};
  if (err != kErrNone) {
    std::snprintf(msg, sizeof(msg), "isend of %zu bytes to rank %d (tag %lld) failed: %s", r->user_len, r->peer,
                  static_cast<long long>(r->tag),
                  err == kErrPeer ? "the peer rank has failed or disconnected" : c.message);
  }
  double bytes = err == kErrNone ? double(r->user_len) : 0;
  if (immediate) r->engine->publish_now(r, err, r->peer, int32_t(r->tag), bytes, msg);
  else r->engine->publish(r, err, r->peer, int32_t(r->tag), bytes, msg);
}

void finish_recv(Request* r, const Completion& c, bool immediate) {
  Engine* e = r->engine;
  int32_t err = error_code(c.result, r);
  char msg[224] = {0};
  int32_t source = err == kErrNone || err == kErrTruncate ? int32_t(tag_source(c.sender_tag)) : r->peer;
  int32_t tag = err == kErrNone || err == kErrTruncate ? int32_t(tag_user(c.sender_tag)) : int32_t(r->tag);
  if (err == kErrNone && r->bounce && c.length > 0) {
    // The user's pages may be no-access (under this request's guard or a neighbour's):
    // the kernel writes regardless of page protection.
    if (!zc::memory::write_through(r->user, r->bounce, c.length)) {
      err = kErrTransport;
      std::snprintf(msg, sizeof(msg),
                    "irecv of %zu bytes from rank %d: copying the received bytes into the guarded buffer failed: %s",
                    r->user_len, source, std::strerror(errno));
    }
  }
  e->shared_guards().release(r->guard);
  r->guard = nullptr;
  if (r->bounce) {
    e->bounce_pool().put(r->bounce, r->bounce_cap);
    r->bounce = nullptr;
  }
  if (err == kErrTruncate) {
    std::snprintf(msg, sizeof(msg),
                  "irecv: the message from rank %d (tag %d) is larger than the %zu-byte receive buffer; "
                  "nothing was written past the buffer (ERR_TRUNCATE)",
                  source, tag, r->user_len);
  } else if (err == kErrPeer) {
    std::snprintf(msg, sizeof(msg), "irecv from %s%d (tag %lld) failed: the peer rank has failed or disconnected",
                  r->peer < 0 ? "any source, after the failure of rank " : "rank ", r->peer,
                  static_cast<long long>(r->tag));
  } else if (err != kErrNone && msg[0] == 0) {
    std::snprintf(msg, sizeof(msg), "irecv of %zu bytes failed: %s", r->user_len, c.message);
  }
  double bytes = err == kErrNone ? double(c.length) : 0;
  if (immediate) e->publish_now(r, err, source, tag, bytes, msg);
  else e->publish(r, err, source, tag, bytes, msg);
}

void finish(Request* r, const Completion& c, bool immediate) {
  if (r->kind == Kind::Recv) finish_recv(r, c, immediate);
  else finish_send(r, c, immediate);
}

// The transport's completion callback for sends and receives (any thread).
void on_complete(Op* op, const Completion& c) {
  auto* r = reinterpret_cast<Request*>(op);
  int32_t p = kUnguarded;
  if (r->phase.compare_exchange_strong(p, kFinishing, std::memory_order_acq_rel)) {
    finish(r, c, false);  // nobody guarded it; the program is still waiting in send/recv
    return;
  }
  if (p == kGuarding) {
    r->stash = c;
    if (r->phase.compare_exchange_strong(p, kEarlyDone, std::memory_order_acq_rel)) return;  // guard_now finishes
  }
  finish(r, c, false);  // kGuarded
}

bool acquire_guard(Request* r, std::string* err) {
  zc::guard::RequestInfo info;
  info.call = r->call;
  info.peer = r->peer;
  info.tag = r->tag;
  info.bytes = r->user_len;
  info.request_id = r->id;
  std::string gerr;
  const bool ok = r->engine->shared_guards().acquire(
      r->guard_addr, r->user_len,
      r->kind == Kind::Recv ? zc::guard::Direction::Inbound : zc::guard::Direction::Outbound, info,
      r->js_stack.empty() ? nullptr : r->js_stack.c_str(), &r->guard, &gerr);
  if (!ok) {
    *err = std::string(r->kind == Kind::Recv ? "irecv: the receive buffer could not be guarded: "
                                             : "isend: the send buffer could not be guarded: ") +
           gerr;
  }
  return ok;
}

}  // namespace

PostResult Engine::guard_now(uint32_t slot, std::string* err) {
  if (slot >= table_.capacity()) {
    *err = "slot out of range";
    return kFailed;
  }
  SlotStatus* s = table_.status(slot);
  Request* r = table_.get(slot);
  if (s->state.load(std::memory_order_acquire) != kSlotPending) return kCompleted;
  int32_t p = kUnguarded;
  if (!r->phase.compare_exchange_strong(p, kGuarding, std::memory_order_acq_rel)) {
    // Guarded already, or needing no guard (guard mode off, empty buffer, plain sends).
    if (p != kFinishing) return kPosted;
    // The completing thread is publishing it right now (a copy at most): not a wait on
    // anything that could block.
    while (s->state.load(std::memory_order_acquire) == kSlotPending) transport::cpu_relax();
    return kCompleted;
  }
  std::string gerr;
  if (!acquire_guard(r, &gerr)) {
    // No guard, so the program must not run until the transfer is done: block instead.
    p = kGuarding;
    if (!r->phase.compare_exchange_strong(p, kUnguarded, std::memory_order_acq_rel)) {
      finish(r, r->stash, true);  // completed meanwhile
      return kCompleted;
    }
    wait(slot, 0);
    return kCompleted;
  }
  p = kGuarding;
  if (r->phase.compare_exchange_strong(p, kGuarded, std::memory_order_acq_rel)) return kPosted;
  // kEarlyDone: it completed while we were protecting; finish here (releases the guard).
  finish(r, r->stash, true);
  return kCompleted;
}

PostResult Engine::isend(uint32_t slot, uint64_t id, const void* buf, size_t len, int dest, int32_t tag,
                         const char* js_stack, bool deferred, std::string* err) {
  if (dest < 0 || dest >= config_.size) {
    *err = "dest out of range";
    return kFailed;
  }
  if (tag < 0) {
    *err = "tag out of range";
    return kFailed;
  }
  Request* r = prepare(slot, id, Kind::Send, err);
  if (!r) return kFailed;
  r->peer = dest;
  r->tag = tag;
  r->user_len = len;
  r->op.on_complete = on_complete;
  r->call = deferred ? "send" : "isend";
  r->guard_addr = buf;
  const uint64_t wire_tag = make_tag(kContextP2P, uint32_t(config_.rank), uint32_t(tag));
  void* device = len ? zc::memory::device_address(buf, len) : nullptr;
  const void* wire = device ? device : buf;
  Completion c;

  // Small messages: if the transport can finish at once (it copies the bytes), no guard is
  // needed at all: the buffer is the program's again when isend returns.
  if (len <= config_.eager_copy_max) {
    Posted p = transport_->send(dest, wire_tag, wire, len, &r->op, &c, /*force_immediate=*/true);
    if (p == Posted::Done) {
      finish_send(r, c, true);
      return kCompleted;
    }
  }
  if (!device || (len <= config_.guarded_copy_max && config_.guard_mode != zc::guard::Mode::Off)) {
    // Plain JavaScript memory is copied and the program's request completes now; so is a
    // small registered buffer the transport could not take at once (its queue to the peer is
    // full, e.g. a window of 64 sends): copying 8 KiB costs less than one protection change,
    // and the window of sends of one buffer would otherwise protect and lift it over and over
    // (measured: small-message bandwidth with guards fell to a third of guard off). Zero-copy
    // from the program's view is not safe here: shared-memory CMA and TCP read it with the
    // kernel, and a page of the buffer it shares with a neighbouring in-flight receive buffer
    // (no-access under that receive's guard) makes the kernel fail with EFAULT and breaks the
    // connection. Registered memory (comm.alloc) is the zero-copy path.
    auto* s = new InternalSend();
    s->op.on_complete = on_internal_send;
    s->engine = this;
    s->dest = dest;
    s->len = len;
    if (len) {
      s->data = bounce_.get(len, &s->cap);
      if (!s->data) {
        delete s;
        *err = "isend: out of memory for copying a send from plain memory";
        publish_now(r, kErrTransport, dest, tag, 0, err->c_str());
        return kFailed;
      }
      std::memcpy(s->data, buf, len);
    }
    internal_in_flight_.fetch_add(1, std::memory_order_acq_rel);
    Completion c2;
    Posted p2 = transport_->send(dest, wire_tag, s->data, len, &s->op, &c2, false);
    if (p2 == Posted::Done) {
      free_internal(s);
      finish_send(r, c2, true);
    } else {
      finish_send(r, Completion{}, true);
    }
    return kCompleted;
  }

  // Registered memory: zero-copy through the device view.
  if (js_stack) r->js_stack = js_stack;
  const bool guarded_mode = len > 0 && config_.guard_mode != zc::guard::Mode::Off;
  r->phase.store(guarded_mode ? kUnguarded : kGuarded, std::memory_order_release);
  r->in_flight.store(true, std::memory_order_release);
  Posted p = transport_->send(dest, wire_tag, wire, len, &r->op, &c, false);
  if (p == Posted::Done) {
    finish_send(r, c, true);
    return kCompleted;
  }
  if (guarded_mode && !deferred) return guard_now(slot, err);
  return kPosted;
}

PostResult Engine::irecv(uint32_t slot, uint64_t id, void* buf, size_t len, int32_t source, int64_t tag,
                         const char* js_stack, bool deferred, std::string* err) {
  if (source < -1 || source >= config_.size) {
    *err = "source out of range";
    return kFailed;
  }
  if (tag < -1 || tag > kMaxUserTag) {
    *err = "tag out of range";
    return kFailed;
  }
  Request* r = prepare(slot, id, Kind::Recv, err);
  if (!r) return kFailed;
  r->peer = source;
  r->tag = tag;
  r->user = buf;
  r->user_len = len;
  r->op.on_complete = on_complete;
  r->op.peer = source;
  r->call = deferred ? "recv" : "irecv";
  r->guard_addr = buf;
  if (js_stack) r->js_stack = js_stack;

  const bool any_source = source == kAnySource;
  const bool any_tag = tag == kAnyTag;
  if (!any_source && transport_->peer_failed(source)) {
    Completion c;
    c.result = Result::PeerFailed;
    c.message = "the peer rank has failed";
    finish_recv(r, c, true);
    return kCompleted;
  }
  const uint64_t wire_tag =
      make_tag(kContextP2P, any_source ? 0 : uint32_t(source), any_tag ? 0 : uint32_t(tag));
  const uint64_t mask = make_mask(any_source, any_tag);

  void* target = buf;
  void* device = len ? zc::memory::device_address(buf, len) : nullptr;
  const bool guarded_mode = len > 0 && config_.guard_mode != zc::guard::Mode::Off;
  if (device) {
    target = device;
  } else if (guarded_mode) {
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
  Completion c;
  Posted p = transport_->recv(wire_tag, mask, target, len, &r->op, &c);
  if (p == Posted::Done) {
    finish_recv(r, c, true);
    return kCompleted;
  }
  // Still in flight and the program gets control back now: the guard goes on now.
  if (guarded_mode && !deferred) return guard_now(slot, err);
  return kPosted;
}

}  // namespace zc::protocol
