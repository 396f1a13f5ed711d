#include "protocol/barrier.h"

#include <cstdio>
#include <vector>

#include "protocol/engine.h"
#include "protocol/error_code.h"
#include "protocol/tag.h"

namespace zc::protocol {

namespace {

using transport::Completion;
using transport::Op;
using transport::Posted;
using transport::Result;

constexpr int kMaxRounds = 21;  // ranks are 20-bit (tag.h)

struct Schedule;

struct SubOp {
  Op op;  // first member
  Schedule* parent = nullptr;
  int round = 0;
  bool recv = false;
  bool posted = false;
  bool done = false;
};

struct Schedule {
  Engine* engine = nullptr;
  Request* request = nullptr;
  int rank = 0, size = 1, rounds = 0;
  uint32_t epoch = 0;
  int sends_posted = 0;
  int outstanding = 0;  // sub-operations posted and not yet complete
  bool starting = true;
  bool finished = false;
  // Canceling a receive may run its callback right away, inside our own call: the schedule
  // is freed only when the outermost entry point leaves.
  int busy = 0;
  int32_t error = kErrNone;
  char message[200] = {0};
  SubOp sends[kMaxRounds];
  SubOp recvs[kMaxRounds];
};

// Every access to the list and to schedules happens under the transport's lock (in
// Transport::serialized or inside a completion callback), so the list needs no lock of its own.
std::vector<Schedule*>& active() {
  static std::vector<Schedule*> list;
  return list;
}

uint64_t round_tag(const Schedule* s, uint32_t source, int round) {
  // 26 bits of epoch, 5 bits of round: concurrent barriers never match each other. Bit 31
  // stays clear: tags with it set belong to the collective schedules (collectives/coll_tag.h).
  uint32_t user = ((s->epoch & 0x3ffffffu) << 5) | uint32_t(round);
  return make_tag(kContextCollective, source, user);
}

void fail(Schedule* s, int32_t code, const char* msg) {
  if (s->error != kErrNone) return;
  s->error = code;
  std::snprintf(s->message, sizeof(s->message), "barrier failed: %s", msg);
  // Nothing more will be sent; stop waiting for rounds that can no longer arrive.
  for (int k = 0; k < s->rounds; k++) {
    SubOp& r = s->recvs[k];
    if (r.posted && !r.done) s->engine->transport().cancel(&r.op);
  }
}

void maybe_finish(Schedule* s) {
  if (s->busy > 0 || s->finished || s->outstanding > 0) return;
  if (s->error == kErrNone && s->sends_posted < s->rounds) return;
  s->finished = true;
  auto& list = active();
  for (size_t i = 0; i < list.size(); i++) {
    if (list[i] == s) {
      list[i] = list.back();
      list.pop_back();
      break;
    }
  }
  Request* r = s->request;
  r->extra = nullptr;  // before publishing: once published, the slot may be reused
  if (s->starting) s->engine->publish_now(r, s->error, -1, -1, 0, s->message);
  else s->engine->publish(r, s->error, -1, -1, 0, s->message);
  delete s;
}

void on_sub_complete(Op* op, const Completion& c);

void complete_sub(SubOp* sub, const Completion& c) {
  Schedule* s = sub->parent;
  sub->done = true;
  s->outstanding--;
  if (c.result != Result::Ok) {
    // Barrier messages have one size, so a truncation is a transport fault; a barrier round
    // is only ever canceled because a peer failed.
    int32_t code = error_code(c.result, /*canceled_by_peer_failure=*/true);
    if (code == kErrTruncate) code = kErrTransport;
    fail(s, code, c.result == Result::Canceled ? "a peer rank has failed" : c.message);
  }
}

// Posts every send whose previous round has been received.
void advance(Schedule* s) {
  while (s->error == kErrNone && s->sends_posted < s->rounds &&
         (s->sends_posted == 0 || s->recvs[s->sends_posted - 1].done)) {
    int k = s->sends_posted++;
    SubOp& sub = s->sends[k];
    int dest = (s->rank + (1 << k)) % s->size;
    sub.posted = true;
    s->outstanding++;
    Completion c;
    Posted p = s->engine->transport().send(dest, round_tag(s, uint32_t(s->rank), k), nullptr, 0, &sub.op, &c, false);
    if (p == Posted::Done) complete_sub(&sub, c);
  }
}

void on_sub_complete(Op* op, const Completion& c) {
  auto* sub = reinterpret_cast<SubOp*>(op);
  Schedule* s = sub->parent;
  s->busy++;
  complete_sub(sub, c);
  advance(s);
  s->busy--;
  maybe_finish(s);
}

struct StartArgs {
  Schedule* s;
  bool completed;
};

void start(void* arg) {
  auto* a = static_cast<StartArgs*>(arg);
  Schedule* s = a->s;
  Request* req = s->request;
  active().push_back(s);
  s->busy++;
  // Every round's receive goes up front: a fast neighbour's round-k message then always
  // finds its receive posted.
  for (int k = 0; k < s->rounds && s->error == kErrNone; k++) {
    SubOp& sub = s->recvs[k];
    int source = (s->rank - (1 << k) % s->size + s->size) % s->size;
    sub.posted = true;
    s->outstanding++;
    Completion c;
    Posted p = s->engine->transport().recv(round_tag(s, uint32_t(source), k), kFullMask, nullptr, 0, &sub.op, &c);
    if (p == Posted::Done) complete_sub(&sub, c);
  }
  advance(s);
  s->busy--;
  maybe_finish(s);
  a->completed = req->extra == nullptr;  // maybe_finish detached and freed s
  if (!a->completed) s->starting = false;
}

}  // namespace

PostResult Engine::barrier(uint32_t slot, uint64_t id, std::string* err) {
  Request* r = prepare(slot, id, Kind::Barrier, err);
  if (!r) return kFailed;
  auto* s = new Schedule();
  s->engine = this;
  s->request = r;
  s->rank = config_.rank;
  s->size = config_.size;
  s->epoch = next_barrier_epoch();
  while ((1 << s->rounds) < s->size) s->rounds++;
  for (int k = 0; k < s->rounds; k++) {
    for (SubOp* sub : {&s->sends[k], &s->recvs[k]}) {
      sub->op.on_complete = on_sub_complete;
      sub->parent = s;
      sub->round = k;
    }
    s->recvs[k].recv = true;
    s->recvs[k].op.is_recv = true;
  }
  for (int k = 0; k < s->rounds; k++) {
    int source = (s->rank - (1 << k) % s->size + s->size) % s->size;
    int dest = (s->rank + (1 << k)) % s->size;
    if (transport_->peer_failed(source) || transport_->peer_failed(dest)) {
      s->error = kErrPeer;
      std::snprintf(s->message, sizeof(s->message), "barrier failed: rank %d has failed",
                    transport_->peer_failed(source) ? source : dest);
      break;
    }
  }
  r->extra = s;
  r->in_flight.store(true, std::memory_order_release);
  StartArgs a{s, false};
  transport_->serialized(start, &a);
  return a.completed ? kCompleted : posted_unpolled(kPosted, true);
}

void barrier_fail_all(Engine* e, int rank, const char* why) {
  char msg[160];
  std::snprintf(msg, sizeof(msg), "rank %d has failed (%s)", rank, why);
  std::vector<Schedule*> copy = active();
  for (Schedule* s : copy) {
    if (s->engine != e) continue;
    s->busy++;
    fail(s, kErrPeer, msg);
    s->busy--;
    maybe_finish(s);
  }
}

}  // namespace zc::protocol
