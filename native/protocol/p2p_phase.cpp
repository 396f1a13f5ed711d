// The per-request phase protocol, and finishing a request.
//
// isend/irecv return control to the program while the transfer runs, so their guard is in
// place before they return. It goes on right after the post, and only if the operation did
// not complete inside the call: the program cannot run between the post and the guard (it
// is inside isend/irecv), so nothing can race in that window, and every message that
// completes at once (a receive whose message was already waiting, a send the transport
// copied) costs no protection change at all: measured, a guard installed first and lifted
// at once cost two mprotect calls per small message and halved small-message bandwidth.
//
// The blocking forms (send/recv in the runtime) post "deferred": no guard while the calling
// thread spins waiting for completion (the program cannot run, so it cannot touch the
// buffer); guard_now() installs it only if the spin ends first. Posting and completion race
// through Request::phase (request_table.h); every transition is a CAS, and the thread that
// loses hands over to the one that wins, so no thread ever waits for another.
//
// A guard that cannot be installed fails its request with ERR_GUARD and the reason; the
// request is never turned into a wait on the program's thread in its place.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "memory/arena.h"
#include "protocol/error_code.h"
#include "protocol/p2p_internal.h"
#include "protocol/tag.h"
#include "guard/futex.h"

namespace zc::protocol {

namespace {
constexpr uintptr_t kPage = 4096;
}

namespace p2p {
namespace {

using transport::Completion;
using transport::Result;

int32_t result_code(const Completion& c, const Request* r) {
  return error_code(c.result, r->peer_failed.load(std::memory_order_acquire));
}

// The finisher's half of the keep-alive hand-over (Engine::keep_alive is the poster's).
void drop_keep_alive(Request* r) {
  if (r->keep_state.exchange(2, std::memory_order_acq_rel) == 1) r->keep.reset();
}

// Every request, before its status is published: no later post waits for it any more, no
// program access either, and the memory may go.
// (Strict mode: the guard and the memory stay until the program observes the completion.)
void retire(Request* r) {
  Engine* e = r->engine;
  e->ranges().remove(r);
  if (!e->hold_until_observed(r)) {
    e->shared_guards().release(r->guard);
    drop_keep_alive(r);
  }
  r->guard = nullptr;
  if (r->bounce) {
    e->bounce_pool().put(r->bounce, r->bounce_cap);
    r->bounce = nullptr;
  }
}

void finish_send(Request* r, const Completion& c, bool immediate) {
  retire(r);
  int32_t err = result_code(c, r);
  char msg[224] = {0};
  if (!r->guard_error.empty()) {
    err = kErrGuard;
    std::snprintf(msg, sizeof(msg), "%s", r->guard_error.c_str());
  } else if (err != kErrNone) {
    // For a failed peer the transport's own words (a retry-exceeded probe, a reset
    // connection) follow in parentheses: they name the cause and often the host.
    const bool peer = err == kErrPeer;
    const bool why = peer && c.message && c.message[0];
    std::snprintf(msg, sizeof(msg), "isend of %zu bytes to rank %d (tag %lld) failed: %s%s%s%s", r->user_len, r->peer,
                  static_cast<long long>(r->tag), peer ? "the peer rank has failed or disconnected" : c.message,
                  why ? " (" : "", why ? c.message : "", why ? ")" : "");
  }
  double bytes = err == kErrNone ? double(r->user_len) : 0;
  if (immediate) r->engine->publish_now(r, err, r->peer, int32_t(r->tag), bytes, msg);
  else r->engine->publish(r, err, r->peer, int32_t(r->tag), bytes, msg);
}

void finish_recv(Request* r, const Completion& c, bool immediate) {
  Engine* e = r->engine;
  int32_t err = result_code(c, r);
  char msg[224] = {0};
  int32_t source = err == kErrNone || err == kErrTruncate ? int32_t(tag_source(c.sender_tag)) : r->peer;
  int32_t tag = err == kErrNone || err == kErrTruncate ? int32_t(tag_user(c.sender_tag)) : int32_t(r->tag);
  if ((err == kErrNone || err == kErrTruncate) && source == r->self_in_comm) e->note_self_received();
  if (!r->guard_error.empty()) {
    // Unguarded: the program may be using the buffer, so a plain one is not written.
    err = kErrGuard;
    std::snprintf(msg, sizeof(msg), "%s", r->guard_error.c_str());
  } else if (err == kErrNone && r->bounce && c.length > 0) {
    // The user's pages may be no-access (under this request's guard or a neighbour's):
    // the kernel writes regardless of page protection. Before retire(): a send posted on
    // these bytes waits for this request and must find them written.
    if (!zc::memory::write_through(r->user, r->bounce, c.length)) {
      err = kErrTransport;
      std::snprintf(msg, sizeof(msg),
                    "irecv of %zu bytes from rank %d: copying the received bytes into the guarded buffer failed: %s",
                    r->user_len, source, std::strerror(errno));
    }
  }
  retire(r);
  if (err == kErrTruncate) {
    std::snprintf(msg, sizeof(msg),
                  "irecv: the message from rank %d (tag %d) is larger than the %zu-byte receive buffer; "
                  "nothing was written past the buffer (ERR_TRUNCATE)",
                  source, tag, r->user_len);
  } else if (err == kErrPeer) {
    const bool why = c.message && c.message[0];
    std::snprintf(msg, sizeof(msg), "irecv from %s%d (tag %lld) failed: the peer rank has failed or disconnected%s%s%s",
                  r->peer < 0 ? "any source, after the failure of rank " : "rank ", r->peer,
                  static_cast<long long>(r->tag), why ? " (" : "", why ? c.message : "", why ? ")" : "");
  } else if (err != kErrNone && msg[0] == 0) {
    std::snprintf(msg, sizeof(msg), "irecv of %zu bytes failed: %s", r->user_len, c.message);
  }
  double bytes = err == kErrNone ? double(c.length) : 0;
  if (immediate) e->publish_now(r, err, source, tag, bytes, msg);
  else e->publish(r, err, source, tag, bytes, msg);
}

bool acquire_guard(Request* r, std::string* err, const void* addr = nullptr, size_t len = 0) {
  if (!addr) {
    addr = r->guard_addr;
    len = r->user_len;
  }
  zc::guard::RequestInfo info;
  info.call = r->call;
  info.peer = r->peer;
  info.tag = r->tag;
  info.bytes = r->user_len;
  info.request_id = r->id;
  std::string gerr;
  const bool ok = r->engine->shared_guards().acquire(
      addr, len,
      r->kind == Kind::Recv ? zc::guard::Direction::Inbound : zc::guard::Direction::Outbound, info,
      r->js_stack.empty() ? nullptr : r->js_stack.c_str(), &r->guard, &gerr);
  if (!ok) *err = gerr;
  return ok;
}

}  // namespace

void finish(Request* r, const Completion& c, bool immediate) {
  if (r->kind == Kind::Recv) finish_recv(r, c, immediate);
  else finish_send(r, c, immediate);
}

void on_complete(transport::Op* op, const Completion& c) {
  auto* r = reinterpret_cast<Request*>(op);
  int32_t p = kUnguarded;
  if (r->phase.compare_exchange_strong(p, kFinishing, std::memory_order_acq_rel)) {
    finish(r, c, false);  // nobody guarded it (or its guard failed); the program is not touching it
    return;
  }
  if (p == kGuarding) {
    r->stash = c;
    if (r->phase.compare_exchange_strong(p, kEarlyDone, std::memory_order_acq_rel)) return;  // guard_now finishes
  }
  finish(r, c, false);  // kGuarded
}

}  // namespace p2p

void Engine::keep_alive(uint32_t slot, std::shared_ptr<void> keep) {
  if (slot >= table_.capacity() || !keep) return;
  Request* r = table_.get(slot);
  r->keep = std::move(keep);
  int32_t expected = 0;
  if (r->keep_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) return;
  // Finished already (state 2): the finisher did not see it. Strict mode may still hold
  // the request until the program observes it; otherwise the memory is free to go now.
  std::shared_ptr<void> k = std::move(r->keep);
  std::lock_guard<std::mutex> g(unobserved_mutex_);
  auto it = unobserved_.find(r->id);
  if (it != unobserved_.end()) it->second.keep = std::move(k);
}

bool Engine::hold_until_observed(Request* r) {
  if (config_.guard_mode != zc::guard::Mode::Strict || r->user_len == 0 || !r->guard_error.empty()) return false;
  if (r->deferred && !r->guard) return false;  // the blocking send/recv observe it before the program runs
  std::string ignored;
  if (!zc::memory::device_address(r->guard_addr, r->user_len)) {
    // Plain memory shares its first and last page with whatever malloc put there (other
    // threads' mutexes among it: a futex call on a protected page fails with EFAULT and
    // aborts that thread), and such a page would stay protected until the program looks.
    // So after its transfer a plain buffer keeps a guard only on the pages it owns whole.
    const uintptr_t a = reinterpret_cast<uintptr_t>(r->guard_addr);
    const uintptr_t first = (a + kPage - 1) & ~(kPage - 1), last = (a + r->user_len) & ~(kPage - 1);
    guards_.release(r->guard);
    r->guard = nullptr;
    if (last <= first || !p2p::acquire_guard(r, &ignored, reinterpret_cast<const void*>(first), last - first))
      return false;
  } else if (!r->guard) {
    // Completed inside its post (or before its guard went on): the program has not seen
    // that yet, so its accesses are judged like those to a transfer in flight.
    if (!p2p::acquire_guard(r, &ignored)) return false;
  }
  if (!r->guard) return false;
  guards_.transfer_done(r->guard);
  {
    std::lock_guard<std::mutex> g(unobserved_mutex_);
    unobserved_[r->id].guard = r->guard;
  }
  if (r->keep_state.exchange(2, std::memory_order_acq_rel) == 1) {
    std::lock_guard<std::mutex> g(unobserved_mutex_);
    unobserved_[r->id].keep = std::move(r->keep);
  }
  return true;
}

void Engine::observed(uint64_t id) {
  Unobserved u;
  {
    std::lock_guard<std::mutex> g(unobserved_mutex_);
    auto it = unobserved_.find(id);
    if (it == unobserved_.end()) return;
    u = std::move(it->second);
    unobserved_.erase(it);
  }
  guards_.release(u.guard, false);  // then u.keep lets the memory go
}

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
    while (s->state.load(std::memory_order_acquire) == kSlotPending) cpu_relax();
    return kCompleted;
  }
  std::string gerr;
  if (!p2p::acquire_guard(r, &gerr)) {
    const bool recv = r->kind == Kind::Recv;
    r->guard_error = std::string(recv ? "irecv" : "isend") + ": the " + (recv ? "receive" : "send") +
                     " buffer could not be guarded: " + gerr +
                     (recv ? "; the receive was canceled"
                           : "; a send cannot be called back, so it went on unguarded (the peer may have "
                             "received bytes the program changed after isend)");
    p = kGuarding;
    if (!r->phase.compare_exchange_strong(p, kUnguarded, std::memory_order_acq_rel)) {
      // Completed while we tried: the program has not run since the post, nothing raced.
      r->guard_error.clear();
      p2p::finish(r, r->stash, true);
      return kCompleted;
    }
    // The completion (canceled, or whatever the transport says first) carries the error;
    // a canceled op's callback may run inside cancel(), finishing the request right here.
    if (recv) transport_->cancel(&r->op);
    return s->state.load(std::memory_order_acquire) == kSlotPending ? kPosted : kCompleted;
  }
  ranges_.add(r);
  p = kGuarding;
  if (r->phase.compare_exchange_strong(p, kGuarded, std::memory_order_acq_rel)) return kPosted;
  // kEarlyDone: it completed while we were protecting; finish here (releases the guard).
  p2p::finish(r, r->stash, true);
  return kCompleted;
}

}  // namespace zc::protocol
