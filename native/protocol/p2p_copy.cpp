// The copy policy: which sends lend the program's bytes to the transport (zero-copy) and
// which hand it a copy, and how the copies live.
//
// Plain JavaScript memory is always copied and the program's request completes at isend.
// Zero-copy from the program's view is not safe there: shared-memory CMA and TCP read it
// with the kernel, and a page of the buffer it shares with a neighbouring in-flight receive
// buffer (no-access under that receive's guard) makes the kernel fail with EFAULT and
// breaks the connection. Registered memory (comm.alloc) is the zero-copy path; a small
// registered send the transport could not take at once (its queue to the peer is full,
// e.g. a window of 64 sends) is copied too: copying 8 KiB costs less than one protection
// change, and the window of sends of one buffer would otherwise protect and lift it over
// and over (measured: small-message bandwidth with guards fell to a third of guard off).
//
// The program's bytes are read only here, outside every lock: the transport's lock is held
// while UCX copies a message, and a fault under it (on bytes a receive still owns) would
// wait for a completion that needs that very lock.
#include <cstdio>
#include <cstring>
#include <vector>

#include "protocol/p2p_internal.h"

namespace zc::protocol::p2p {

namespace {

using transport::Completion;
using transport::Op;
using transport::Posted;
using transport::Result;

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

// Plain bytes of a small send, copied before the transport (and its lock) sees them.
const void* stage(const void* buf, size_t len) {
  thread_local std::vector<unsigned char> staging;
  if (staging.size() < len) staging.resize(len);
  std::memcpy(staging.data(), buf, len);
  return staging.data();
}

}  // namespace

bool send_is_copied(const EngineConfig& config, const void* device, size_t len) {
  return !device || (len <= config.guarded_copy_max && config.guard_mode != zc::guard::Mode::Off);
}

bool try_immediate_send(Engine* e, Request* r, uint64_t wire_tag, const void* buf, const void* device, size_t len,
                        const void** staged) {
  const void* wire = device;
  if (!device) wire = *staged = len ? stage(buf, len) : buf;
  Completion c;
  if (e->transport().send(r->world_peer, wire_tag, wire, len, &r->op, &c, /*force_immediate=*/true) != Posted::Done)
    return false;
  finish(r, c, true);
  return true;
}

PostResult post_copied_send(Engine* e, Request* r, uint64_t wire_tag, const void* buf, size_t len, std::string* err) {
  auto* s = new InternalSend();
  s->op.on_complete = on_internal_send;
  s->engine = e;
  s->dest = r->world_peer;
  s->len = len;
  if (len) {
    s->data = e->bounce_pool().get(len, &s->cap);
    if (!s->data) {
      delete s;
      *err = "isend: out of memory for copying a send from plain memory";
      e->publish_now(r, kErrTransport, r->peer, int32_t(r->tag), 0, err->c_str());
      return kFailed;
    }
    std::memcpy(s->data, buf, len);
  }
  e->internal_in_flight_counter().fetch_add(1, std::memory_order_acq_rel);
  Completion c;
  if (e->transport().send(r->world_peer, wire_tag, s->data, len, &s->op, &c, false) == Posted::Done) {
    free_internal(s);
    finish(r, c, true);
  } else {
    finish(r, Completion{}, true);
  }
  return kCompleted;
}

}  // namespace zc::protocol::p2p
