// Running a collective: posting, the signature check, the outcome agreement, guards,
// completion. Everything here after the post runs under the transport's lock, in
// Transport::serialized() or inside a completion callback, on whichever thread progresses.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "memory/arena.h"
#include "protocol/collectives/coll_tag.h"
#include "protocol/collectives/collective.h"
#include "protocol/engine.h"
#include "protocol/error_code.h"
#include "protocol/tag.h"
#include "guard/futex.h"

namespace zc::protocol {

namespace coll {

const char* kind_name(Kind k) {
  static const char* names[kKindCount] = {"barrier", "bcast", "reduce", "allreduce", "gather", "scatter",
                                          "allgather", "alltoall", "gatherv", "scatterv", "allgatherv",
                                          "alltoallv", "reduceScatter", "reduceScatterBlock", "scan", "exscan"};
  return unsigned(k) < kKindCount ? names[unsigned(k)] : "unknown collective";
}

bool is_v_kind(Kind k) {
  return k == Kind::Gatherv || k == Kind::Scatterv || k == Kind::Allgatherv || k == Kind::Alltoallv ||
         k == Kind::ReduceScatter;
}

namespace {

using transport::Completion;
using transport::Op;
using transport::Posted;
using transport::Result;

constexpr int kMaxExchangeRounds = 21;  // ceil(log2(2^20 ranks))

enum Field : uint8_t { kFieldNone = 0, kFieldKind, kFieldRoot, kFieldType, kFieldOp, kFieldCount };

// What the signature check and the outcome agreement exchange (one per round).
struct CheckMsg {
  uint8_t kind = 0, op = 0, dtype = 0, field = kFieldNone;  // field: the first argument seen to differ
  int32_t root = 0;
  uint64_t count = 0;
  int32_t rank_a = -1, rank_b = -1;  // the two ranks that differ, and their values
  uint64_t val_a = 0, val_b = 0;
  int32_t failed_rank = -1;  // agreement: a rank whose data rounds failed
  int32_t failed_code = 0;
  char text[168] = {0};
};

struct Schedule;

struct SubOp {
  Op op;  // first member: the callback converts back
  Schedule* s = nullptr;
  uint8_t phase = kPhaseData;
  bool recv = false;
  bool done = false;
  int index = 0;
  int peer = -1;
  size_t expect = 0;
};

// A dissemination exchange: in round k send to rank + 2^k, receive from rank - 2^k; after
// ceil(log2 p) rounds every rank has heard (transitively) from every other.
struct Exchange {
  Phase phase = kPhaseCheck;
  int rounds = 0;
  int sent = 0;      // sends posted
  int absorbed = 0;  // receives folded into `mine`
  bool started = false;
  bool recvs_posted = false;
  CheckMsg mine;
  Scratch msgs;  // 2 * rounds messages the transport reads and writes (bounce-pool pages)
  CheckMsg* in = nullptr;
  CheckMsg* out = nullptr;
  std::vector<SubOp> sends, recvs;
};

struct Schedule {
  Engine* engine = nullptr;
  Request* request = nullptr;
  std::shared_ptr<CommInfo> comm;
  Args args;
  uint32_t seq = 0;
  int rank = 0, size = 1;
  Plan plan;

  // Data rounds.
  size_t cur = 0;            // the round whose comm steps are in flight (or next)
  bool cur_posted = false;
  bool data_finished = false;  // every round ran, or the data rounds were abandoned
  std::vector<SubOp> ops;

  Exchange check, agree;
  bool need_agree = false;

  int outstanding = 0;       // sub-operations posted and not complete (all phases)
  int outstanding_recvs = 0;
  bool starting = true;
  bool published = false;
  bool orphan = false;  // published with uncancelable sends still pending (maybe_finish)
  int busy = 0;

  // Outcome.
  int32_t error = kErrNone;        // this rank's own failure (data rounds, peer, transport)
  char message[200] = {0};
  bool mismatch = false;           // the signature check found different arguments
  int32_t stash_error = kErrNone;  // the final outcome, for a guarding thread (kEarlyDone)
  char stash_message[224] = {0};

  // Buffers. The user's result buffer, when it is plain memory, is written at the end.
  Scratch in_copy, out_copy;
  bool oom = false;  // a scratch buffer could not be had
  void* user_out = nullptr;
  size_t out_bytes = 0;
  bool write_back = false;
  // Guards (program views), installed at the post or by guard_now (blocking forms).
  const void* gsend_addr = nullptr;
  size_t gsend_len = 0;
  const void* grecv_addr = nullptr;
  size_t grecv_len = 0;
  zc::guard::Direction grecv_dir = zc::guard::Direction::Inbound;
  SharedGuards::Entry* gsend = nullptr;
  SharedGuards::Entry* grecv = nullptr;
  std::string js_stack;
};

std::vector<Schedule*>& active() {
  static std::vector<Schedule*> list;  // under the transport's lock
  return list;
}

uint64_t wire_tag(const Schedule* s, Phase phase, int round, int source_rank) {
  return make_tag(collective_context(s->comm->id), uint32_t(source_rank), coll_user_tag(phase, s->seq, uint32_t(round)));
}

void on_sub_complete(Op* op, const Completion& c);

void set_error(Schedule* s, int32_t code, const char* fmt_msg) {
  if (s->error != kErrNone) return;
  s->error = code;
  std::snprintf(s->message, sizeof(s->message), "%s", fmt_msg);
}

// Stops the data rounds: nothing more is posted, receives still waiting are canceled.
void abandon_data(Schedule* s) {
  if (s->data_finished) return;
  s->data_finished = true;
  if (!s->cur_posted) return;
  // Only receives: the round's sends are what peers are waiting for (they went out with the
  // round, and a rendezvous send cannot be taken back anyway).
  for (SubOp& o : s->ops)
    if (o.s && !o.done && o.recv && o.op.on_complete) s->engine->transport().cancel(&o.op);
}

void cancel_exchange(Schedule* s, Exchange& x) {
  for (auto* v : {&x.sends, &x.recvs})
    for (SubOp& o : *v)
      if (o.s && !o.done) s->engine->transport().cancel(&o.op);
}

void post(Schedule* s, SubOp* o, Phase phase, int peer, bool recv, void* buf, size_t bytes) {
  o->s = s;
  o->phase = uint8_t(phase);
  o->recv = recv;
  o->done = false;
  o->peer = peer;
  o->expect = bytes;
  o->op = Op{};
  o->op.on_complete = on_sub_complete;
  o->op.is_recv = recv;
  const int world = s->comm->world[peer];
  o->op.peer = world;
  s->outstanding++;
  if (recv) s->outstanding_recvs++;
  Completion c;
  Posted p;
  // Data messages carry no round: ranks number their rounds differently (a rank that only
  // sends in a tree has fewer), and messages between two ranks match in the order they were
  // sent, which every algorithm posts in the same order on both sides (MPI's non-overtaking).
  const int round = phase == kPhaseData ? 0 : o->index;
  if (recv) {
    p = s->engine->transport().recv(wire_tag(s, phase, round, peer), kFullMask, buf, bytes, &o->op, &c);
  } else {
    p = s->engine->transport().send(world, wire_tag(s, phase, round, s->rank), buf, bytes, &o->op, &c, false);
  }
  if (p == Posted::Done) on_sub_complete(&o->op, c);
}

// --- the signature check and the outcome agreement ---

void absorb(Schedule* s, Exchange& x, int k) {
  const CheckMsg& m = x.in[k];
  CheckMsg& me = x.mine;
  const int from = (s->rank - (1 << k) % s->size + s->size) % s->size;
  if (x.phase == kPhaseCheck && me.field == kFieldNone) {
    if (m.field != kFieldNone) {
      me.field = m.field;
      me.rank_a = m.rank_a;
      me.rank_b = m.rank_b;
      me.val_a = m.val_a;
      me.val_b = m.val_b;
    } else {
      uint8_t f = kFieldNone;
      uint64_t a = 0, b = 0;
      if (m.kind != me.kind) f = kFieldKind, a = me.kind, b = m.kind;
      else if (m.root != me.root) f = kFieldRoot, a = uint64_t(int64_t(me.root)), b = uint64_t(int64_t(m.root));
      else if (m.dtype != me.dtype) f = kFieldType, a = me.dtype, b = m.dtype;
      else if (m.op != me.op) f = kFieldOp, a = me.op, b = m.op;
      else if (m.count != me.count) f = kFieldCount, a = me.count, b = m.count;
      if (f != kFieldNone) {
        me.field = f;
        me.rank_a = s->rank;
        me.val_a = a;
        me.rank_b = from;
        me.val_b = b;
      }
    }
    if (me.field != kFieldNone && !s->mismatch) {
      s->mismatch = true;
      abandon_data(s);
    }
  }
  if (x.phase == kPhaseAgree && me.failed_rank < 0 && m.failed_rank >= 0) {
    me.failed_rank = m.failed_rank;
    me.failed_code = m.failed_code;
    std::memcpy(me.text, m.text, sizeof(me.text));
  }
}

void start_exchange(Schedule* s, Exchange& x);

void post_exchange_recvs(Schedule* s, Exchange& x) {
  if (x.recvs_posted) return;
  x.recvs_posted = true;
  for (int k = 0; k < x.rounds; k++) {
    SubOp& o = x.recvs[k];
    o.index = k;
    int from = (s->rank - (1 << k) % s->size + s->size) % s->size;
    post(s, &o, x.phase, from, true, &x.in[k], sizeof(CheckMsg));
  }
}

void pump_exchange(Schedule* s, Exchange& x) {
  if (!x.started) return;
  for (;;) {
    // Receives that arrived are folded in order; the next send carries what we know.
    while (x.absorbed < x.rounds && x.recvs[x.absorbed].done && x.absorbed < x.sent) absorb(s, x, x.absorbed++);
    if (x.sent >= x.rounds || s->error == kErrPeer) break;
    if (x.sent > 0 && x.absorbed < x.sent) break;
    int k = x.sent++;
    x.out[k] = x.mine;
    SubOp& o = x.sends[k];
    o.index = k;
    post(s, &o, x.phase, (s->rank + (1 << k)) % s->size, false, &x.out[k], sizeof(CheckMsg));
  }
}

bool exchange_done(const Exchange& x) { return !x.started ? x.rounds == 0 : x.absorbed == x.rounds; }

void start_exchange(Schedule* s, Exchange& x) {
  if (x.started) return;
  x.started = true;
  post_exchange_recvs(s, x);
  pump_exchange(s, x);
}

// --- data rounds ---

void run_locals(Schedule* s, const Round& r) {
  const size_t es = dtype_size(s->plan.dtype);
  for (const Step& st : r.local) {
    if (st.type == Step::Copy) {
      std::memmove(st.dst, st.src, st.bytes);
    } else if (st.type == Step::ReduceFrom) {
      reduce_from(s->plan.op, s->plan.dtype, st.dst, st.first, st.src, st.bytes / es);
    } else {
      reduce_into(s->plan.op, s->plan.dtype, st.dst, st.src, st.bytes / es);
    }
  }
}

void pump_data(Schedule* s) {
  while (!s->data_finished) {
    if (s->cur_posted) {
      bool in_flight = false;
      for (const SubOp& o : s->ops) in_flight |= o.s && !o.done;
      if (in_flight) return;
      if (s->error != kErrNone) {
        s->data_finished = true;
        break;
      }
      run_locals(s, s->plan.rounds[s->cur]);
      s->cur++;
      s->cur_posted = false;
    }
    if (s->cur >= s->plan.rounds.size()) {
      s->data_finished = true;
      break;
    }
    const Round& r = s->plan.rounds[s->cur];
    s->cur_posted = true;
    for (SubOp& o : s->ops) o.s = nullptr;
    for (size_t i = 0; i < r.comm.size(); i++) {
      const Step& st = r.comm[i];
      SubOp& o = s->ops[i];
      o.index = int(i);
      // A round's sends all go out even when it was abandoned meanwhile (a failure inside
      // one of these posts): a peer may wait for one, and every rank must get to the outcome.
      if (st.type == Step::Send) post(s, &o, kPhaseData, st.peer, false, const_cast<uint8_t*>(st.src), st.bytes);
      else if (!s->data_finished) post(s, &o, kPhaseData, st.peer, true, st.dst, st.bytes);
    }
  }
  if (s->need_agree && s->data_finished && !s->agree.started) {
    if (s->error != kErrNone && s->agree.mine.failed_rank < 0) {
      s->agree.mine.failed_rank = s->rank;
      s->agree.mine.failed_code = s->error;
      std::snprintf(s->agree.mine.text, sizeof(s->agree.mine.text), "%s", s->message);
    }
    start_exchange(s, s->agree);
  }
}

void finish(Schedule* s, bool immediate);

// The outcome every rank reports, composed once all phases ended.
void compose_outcome(Schedule* s, int32_t* code, char* msg, size_t cap) {
  const char* name = kind_name(s->args.kind);
  const CheckMsg& c = s->check.mine;
  if (s->error == kErrPeer) {
    *code = kErrPeer;
    std::snprintf(msg, cap, "%s failed: %s", name, s->message);
    return;
  }
  if (c.field != kFieldNone) {
    *code = kErrMismatch;
    switch (c.field) {
      case kFieldKind:
        std::snprintf(msg, cap, "%s: the ranks called different collectives: rank %d called %s, rank %d called %s",
                      name, c.rank_a, kind_name(Kind(c.val_a)), c.rank_b, kind_name(Kind(c.val_b)));
        break;
      case kFieldRoot:
        std::snprintf(msg, cap, "%s: the ranks passed different roots: rank %d passed root %lld, rank %d passed root %lld",
                      name, c.rank_a, (long long)int64_t(c.val_a), c.rank_b, (long long)int64_t(c.val_b));
        break;
      case kFieldType:
        std::snprintf(msg, cap, "%s: the ranks passed different element types: rank %d passed %s, rank %d passed %s",
                      name, c.rank_a, dtype_name(DType(c.val_a)), c.rank_b, dtype_name(DType(c.val_b)));
        break;
      case kFieldOp:
        std::snprintf(msg, cap, "%s: the ranks passed different ops: rank %d passed %s, rank %d passed %s", name,
                      c.rank_a, op_name(ReduceOp(c.val_a)), c.rank_b, op_name(ReduceOp(c.val_b)));
        break;
      default:
        std::snprintf(msg, cap, "%s: the ranks passed different element counts: rank %d passed %llu, rank %d passed %llu",
                      name, c.rank_a, (unsigned long long)c.val_a, c.rank_b, (unsigned long long)c.val_b);
    }
    return;
  }
  if (s->error != kErrNone) {
    *code = s->error;
    std::snprintf(msg, cap, "%s", s->message);
    return;
  }
  const CheckMsg& g = s->agree.mine;
  if (s->need_agree && g.failed_rank >= 0) {
    *code = g.failed_code == kErrPeer ? kErrPeer : g.failed_code;
    std::snprintf(msg, cap, "%s failed on rank %d: %s", name, g.failed_rank, g.text);
    return;
  }
  *code = kErrNone;
  msg[0] = 0;
}

void detach(Schedule* s) {
  auto& list = active();
  for (size_t i = 0; i < list.size(); i++) {
    if (list[i] == s) {
      list[i] = list.back();
      list.pop_back();
      break;
    }
  }
}

bool failing(const Schedule* s) {
  return s->error != kErrNone || s->mismatch || (s->need_agree && s->agree.mine.failed_rank >= 0);
}

void maybe_finish(Schedule* s) {
  if (s->busy > 0) return;
  if (s->published) {
    if (s->outstanding == 0) delete s;  // an orphan's last send ended
    return;
  }
  const bool peer = s->error == kErrPeer;
  if (!peer && !(s->data_finished && exchange_done(s->check) && (!s->need_agree || exchange_done(s->agree)))) return;
  if (s->outstanding > 0) {
    // A failed collective may leave data sends nobody will ever receive (a rendezvous whose
    // receiver called with another root or count; the transport cannot cancel those). The
    // request fails now; the schedule lives on, detached, until they end (at shutdown).
    if (!failing(s) || s->outstanding_recvs > 0) return;
    s->orphan = true;
  }
  s->published = true;
  detach(s);
  compose_outcome(s, &s->stash_error, s->stash_message, sizeof(s->stash_message));
  Request* r = s->request;
  // The phase protocol of p2p.cpp: whoever comes second finishes (a blocking form may be
  // installing its guards on the JavaScript thread right now).
  int32_t p = kUnguarded;
  if (r->phase.compare_exchange_strong(p, kFinishing, std::memory_order_acq_rel)) {
    finish(s, s->starting);
    return;
  }
  if (p == kGuarding && r->phase.compare_exchange_strong(p, kEarlyDone, std::memory_order_acq_rel)) return;
  finish(s, s->starting);
}

void on_sub_complete(Op* op, const Completion& c) {
  auto* o = reinterpret_cast<SubOp*>(op);
  Schedule* s = o->s;
  s->busy++;
  o->done = true;
  s->outstanding--;
  if (o->recv) s->outstanding_recvs--;
  const char* what = o->phase == kPhaseData ? "" : o->phase == kPhaseCheck ? " (argument check)" : " (outcome agreement)";
  char msg[200];
  // The transport's result as the program would see it (error_code.h, shared with p2p and
  // the barrier); a cancel after a peer failure is that failure, any other cancel is ours.
  const int32_t code = error_code(c.result, s->error == kErrPeer);
  if (code == kErrPeer) {
    std::snprintf(msg, sizeof(msg), "rank %d has failed or disconnected", s->comm->world[o->peer]);
    set_error(s, kErrPeer, msg);
    abandon_data(s);
    cancel_exchange(s, s->check);
    cancel_exchange(s, s->agree);
  } else if (code == kErrCanceled) {
    // Ours: the data rounds were abandoned.
  } else if (code != kErrNone || (o->recv && c.length != o->expect)) {
    // A message longer (truncated) or shorter than expected: the ranks disagree on counts.
    if (code == kErrTruncate || code == kErrNone) {
      std::snprintf(msg, sizeof(msg),
                    "%s: rank %d sent %s bytes where %zu were expected%s (the ranks disagree on counts)",
                    kind_name(s->args.kind), o->peer, code == kErrTruncate ? "more" : std::to_string(c.length).c_str(),
                    o->expect, what);
      set_error(s, kErrMismatch, msg);
    } else {
      std::snprintf(msg, sizeof(msg), "%s: a transfer with rank %d failed%s: %s", kind_name(s->args.kind), o->peer, what,
                    c.message);
      set_error(s, kErrTransport, msg);
    }
    abandon_data(s);
  } else if (o->phase == kPhaseAgree && o->recv && s->agree.in[o->index].failed_rank >= 0) {
    // A rank failed its data rounds: ours may wait for a message it will never send. The
    // failure is taken over at once, so our first agreement message already carries it
    // (the next rank may be stuck the same way, waiting for us).
    CheckMsg& me = s->agree.mine;
    const CheckMsg& m = s->agree.in[o->index];
    if (me.failed_rank < 0 && s->error == kErrNone) {
      me.failed_rank = m.failed_rank;
      me.failed_code = m.failed_code;
      std::memcpy(me.text, m.text, sizeof(me.text));
    }
    abandon_data(s);
  }
  if (s->busy > 1) {
    // Completed inside a post of ours: the pump that posted it sees it when it loops.
    s->busy--;
    return;
  }
  pump_exchange(s, s->check);
  pump_data(s);
  pump_exchange(s, s->agree);
  s->busy--;
  maybe_finish(s);
}

void release_guards(Schedule* s) {
  SharedGuards& g = s->engine->shared_guards();
  if (s->gsend) g.release(s->gsend);
  if (s->grecv) g.release(s->grecv);
  s->gsend = s->grecv = nullptr;
}

void finish(Schedule* s, bool immediate) {
  Engine* e = s->engine;
  Request* r = s->request;
  int32_t code = s->stash_error;
  if (code == kErrNone && s->write_back && s->out_bytes) {
    // The user's plain pages may be no-access under our own guard: the kernel writes anyway.
    if (!zc::memory::write_through(s->user_out, s->out_copy.get(), s->out_bytes)) {
      code = kErrTransport;
      std::snprintf(s->stash_message, sizeof(s->stash_message), "%s: writing the result into the buffer failed: %s",
                    kind_name(s->args.kind), std::strerror(errno));
    }
  }
  release_guards(s);
  r->extra = nullptr;  // before publishing: once published, the slot may be reused
  double bytes = double(s->out_bytes);
  if (immediate) e->publish_now(r, code, -1, -1, code == kErrNone ? bytes : 0, s->stash_message);
  else e->publish(r, code, -1, -1, code == kErrNone ? bytes : 0, s->stash_message);
  if (!s->orphan) delete s;
}

bool acquire_guards(Schedule* s, std::string* err) {
  if (s->engine->config().guard_mode == zc::guard::Mode::Off) return true;
  zc::guard::RequestInfo info;
  info.call = kind_name(s->args.kind);
  info.peer = s->args.root;
  info.tag = -1;
  info.request_id = s->request->id;
  const char* stack = s->js_stack.empty() ? nullptr : s->js_stack.c_str();
  std::string gerr;
  SharedGuards& g = s->engine->shared_guards();
  if (s->gsend_len && !s->gsend) {
    info.bytes = s->gsend_len;
    if (!g.acquire(s->gsend_addr, s->gsend_len, zc::guard::Direction::Outbound, info, stack, &s->gsend, &gerr)) {
      *err = std::string(info.call) + ": the send buffer could not be guarded: " + gerr;
      return false;
    }
  }
  if (s->grecv_len && !s->grecv) {
    info.bytes = s->grecv_len;
    if (!g.acquire(s->grecv_addr, s->grecv_len, s->grecv_dir, info, stack, &s->grecv, &gerr)) {
      *err = std::string(info.call) + ": the receive buffer could not be guarded: " + gerr;
      release_guards(s);
      return false;
    }
  }
  return true;
}

struct StartArgs {
  Schedule* s;
  bool completed;
};

// A member already failed: the schedule posts nothing and fails with that rank's name. At
// the post and again at a handed-over start (under the lock, so a failure reported in
// between is seen here or, once the schedule is active, by fail_all).
void note_failed_peers(Schedule* s) {
  Engine* e = s->engine;
  for (int w : s->comm->world) {
    if (w != e->config().rank && e->transport().peer_failed(w)) {
      s->error = kErrPeer;
      std::snprintf(s->message, sizeof(s->message), "rank %d has failed", w);
      s->data_finished = true;
      s->check.rounds = 0;
      s->need_agree = false;
      break;
    }
  }
}

void start(void* arg) {
  auto* a = static_cast<StartArgs*>(arg);
  Schedule* s = a->s;
  Request* req = s->request;
  active().push_back(s);
  s->busy++;
  // Every exchange receive goes up front: a fast neighbour's message always finds it.
  if (s->check.rounds > 0) start_exchange(s, s->check);
  if (s->need_agree) post_exchange_recvs(s, s->agree);
  pump_data(s);
  pump_exchange(s, s->check);
  pump_exchange(s, s->agree);
  s->busy--;
  maybe_finish(s);
  a->completed = req->extra == nullptr;  // finished (and freed) inside
  if (!a->completed) s->starting = false;
}

// A non-blocking collective's start, on whichever thread progresses next (Transport::defer).
void start_handed(void* arg) {
  auto* s = static_cast<Schedule*>(arg);
  s->starting = false;  // a finish now publishes like any completion, not as the post's result
  if (s->error == kErrNone) note_failed_peers(s);
  StartArgs st{s, false};
  start(&st);
}

bool init_exchange(Exchange& x, Phase phase, int size, BouncePool* pool) {
  x.phase = phase;
  while ((1 << x.rounds) < size) x.rounds++;
  if (x.rounds) {
    x.msgs = Scratch(pool, 2 * x.rounds * sizeof(CheckMsg));
    if (!x.msgs) return false;
    x.in = new (x.msgs.get()) CheckMsg[x.rounds];
    x.out = new (x.msgs.get() + x.rounds * sizeof(CheckMsg)) CheckMsg[x.rounds];
  }
  x.sends.resize(x.rounds);
  x.recvs.resize(x.rounds);
  return true;
}

// Where the schedule reads and writes: device views of registered memory (zero-copy), or
// copies of plain memory (the transport cannot safely read plain pages, see p2p.cpp).
const uint8_t* input_of(Schedule* s, void* p, size_t bytes) {
  if (!p || !bytes) return static_cast<const uint8_t*>(p);
  if (void* d = zc::memory::device_address(p, bytes)) return static_cast<const uint8_t*>(d);
  s->in_copy = Scratch(&s->engine->bounce_pool(), bytes);
  if (!s->in_copy) {
    s->oom = true;
    return nullptr;
  }
  std::memcpy(s->in_copy.get(), p, bytes);
  return s->in_copy.get();
}

}  // namespace

void fail_all(Engine* e, int rank, const char* why) {
  char msg[160];
  std::snprintf(msg, sizeof(msg), "rank %d has failed (%s)", rank, why);
  std::vector<Schedule*> copy = active();
  for (Schedule* s : copy) {
    if (s->engine != e) continue;
    bool member = false;
    for (int w : s->comm->world) member |= w == rank;
    if (!member) continue;
    s->busy++;
    set_error(s, kErrPeer, msg);
    abandon_data(s);
    cancel_exchange(s, s->check);
    cancel_exchange(s, s->agree);
    s->busy--;
    maybe_finish(s);
  }
}

}  // namespace coll

using coll::Args;
using CK = coll::Kind;

PostResult Engine::collective(uint32_t slot, uint64_t id, const Args& a, std::string* err) {
  std::shared_ptr<coll::CommInfo> comm = coll::find_comm(this, a.comm);
  if (!comm) {
    *err = "the communicator has been freed";
    return kFailed;
  }
  const int size = comm->size, rank = comm->rank;
  const bool rooted = a.kind == CK::Bcast || a.kind == CK::Reduce || a.kind == CK::Gather ||
                      a.kind == CK::Scatter || a.kind == CK::Gatherv || a.kind == CK::Scatterv;
  if (rooted && (a.root < 0 || a.root >= size)) {
    *err = "root out of range";
    return kFailed;
  }
  const size_t es = dtype_size(a.dtype);
  if (!es) {
    *err = "unknown element type";
    return kFailed;
  }
  Request* r = prepare(slot, id, zc::protocol::Kind::Collective, err);
  if (!r) return kFailed;
  auto* s = new coll::Schedule();
  s->engine = this;
  s->request = r;
  s->comm = comm;
  s->args = a;
  s->seq = comm->seq++;
  s->rank = rank;
  s->size = size;
  if (a.js_stack) s->js_stack = a.js_stack;
  Args& A = s->args;
  A.js_stack = nullptr;

  // This rank's role and buffers.
  const bool is_root = rank == a.root;
  const bool bcast_root = a.kind == CK::Bcast && is_root;
  bool has_out = a.recv != nullptr;
  if (!a.js_fold && !is_root && (a.kind == CK::Reduce || a.kind == CK::Gather || a.kind == CK::Gatherv)) has_out = false;
  if (!a.js_fold && is_root && a.in_place && (a.kind == CK::Scatter || a.kind == CK::Scatterv)) has_out = false;
  if (a.kind == CK::Barrier) has_out = false;
  uint8_t* out = nullptr;
  if (has_out && a.recv_bytes) {
    if (void* d = zc::memory::device_address(a.recv, a.recv_bytes)) {
      out = static_cast<uint8_t*>(d);
    } else {
      s->out_copy = coll::Scratch(&bounce_, a.recv_bytes);
      if (!s->out_copy) {
        *err = "out of memory for a copy of the receive buffer";
        publish_now(r, kErrTransport, -1, -1, 0, err->c_str());
        delete s;
        return kFailed;
      }
      std::memcpy(s->out_copy.get(), a.recv, a.recv_bytes);  // keeps what the collective does not write
      out = s->out_copy.get();
      s->write_back = !bcast_root;
    }
    s->user_out = a.recv;
    s->out_bytes = a.recv_bytes;
    s->grecv_addr = a.recv;
    s->grecv_len = a.recv_bytes;
    s->grecv_dir = bcast_root ? zc::guard::Direction::Outbound : zc::guard::Direction::Inbound;
  }
  const uint8_t* in = nullptr;
  if (a.kind == CK::Bcast) {
    in = out;
  } else if (a.in_place && (a.kind == CK::Alltoall || a.kind == CK::Alltoallv)) {
    // The blocks are overwritten while others still have to be sent: send from a snapshot.
    s->in_copy = coll::Scratch(&bounce_, a.recv_bytes);
    if (!s->in_copy) s->oom = true;
    else if (a.recv_bytes) std::memcpy(s->in_copy.get(), a.recv, a.recv_bytes);
    in = s->in_copy.get();
  } else if (a.in_place && (a.kind == CK::Gather || a.kind == CK::Gatherv || a.kind == CK::Allgather ||
                            a.kind == CK::Allgatherv)) {
    // This rank's own block already sits where it belongs.
    const size_t off = (a.kind == CK::Gatherv || a.kind == CK::Allgatherv ? a.recv_displs[rank] : size_t(rank) * a.count) * es;
    in = out ? out + off : nullptr;
  } else if (a.in_place && a.kind != CK::Scatter && a.kind != CK::Scatterv) {
    in = out;
  } else {
    in = input_of(s, a.send, a.send_bytes);
    if (a.send && a.send_bytes && !s->in_copy) {
      s->gsend_addr = a.send;
      s->gsend_len = a.send_bytes;
    }
  }

  s->plan.pool = &bounce_;
  coll::View v;
  v.args = &s->args;
  v.rank = rank;
  v.size = size;
  v.esize = es;
  v.in = in;
  v.out = out;
  err->clear();
  if (a.kind != CK::Barrier && !coll::build_plan(v, &s->plan, err)) {
    // err says why
  } else if (s->plan.out_of_memory || s->oom) {
    *err = "out of memory for a collective's scratch buffers";
  }
  if (!err->empty()) {
    publish_now(r, kErrTransport, -1, -1, 0, err->c_str());
    delete s;
    return kFailed;
  }
  size_t max_comm = 0;
  for (const coll::Round& rd : s->plan.rounds) max_comm = std::max(max_comm, rd.comm.size());
  s->ops.resize(max_comm);

  // The signature every rank compares (count: what must be equal on every rank).
  coll::CheckMsg& sig = s->check.mine;
  sig.kind = uint8_t(a.kind);
  sig.op = uint8_t(a.js_fold ? ReduceOp::Js : a.op);
  sig.dtype = uint8_t(a.dtype);
  sig.root = rooted ? a.root : 0;
  sig.count = coll::is_v_kind(a.kind) ? 0 : a.count;
  s->need_agree = coll::is_v_kind(a.kind) && size > 1;
  if (!coll::init_exchange(s->check, coll::kPhaseCheck, size, &bounce_) ||
      (s->need_agree && !coll::init_exchange(s->agree, coll::kPhaseAgree, size, &bounce_))) {
    *err = "out of memory for a collective's argument check";
    publish_now(r, kErrTransport, -1, -1, 0, err->c_str());
    delete s;
    return kFailed;
  }

  coll::note_failed_peers(s);

  const bool guarded = config_.guard_mode != zc::guard::Mode::Off;
  if (guarded && !a.deferred && !coll::acquire_guards(s, err)) {
    publish_now(r, kErrTransport, -1, -1, 0, err->c_str());
    delete s;
    return kFailed;
  }
  r->call = coll::kind_name(a.kind);
  r->extra = s;
  r->phase.store(guarded && a.deferred ? kUnguarded : kGuarded, std::memory_order_release);
  r->in_flight.store(true, std::memory_order_release);
  if (!a.deferred && size > 1) {
    // Non-blocking: the program gets its thread back after its guards and the rounds run
    // on the progress thread (or in the program's next wait). Started here, a post that
    // found the peer's rendezvous already waiting read and reduced it on the program's
    // thread: 1 MiB on 2 ranks, an inline start took 2-3 us in 9 of 10 sampled posts and
    // 100 us in the tenth (docs/benchmarks.md, sixth session).
    transport_->defer(coll::start_handed, s);
    return kPosted;
  }
  coll::StartArgs st{s, false};
  transport_->serialized(coll::start, &st);
  if (st.completed) return kCompleted;
  // A non-blocking collective: the program goes on computing, and the schedule's rounds
  // need progress now. Without the hand-off, after a blocking call that polled (the barrier
  // before it, say) the thread stood aside for a grace period, or until a wake it did not
  // get when the poll ended with its request done; an iallreduce posted then waited that
  // long for its first round (measured: 10 ms median for 1 MiB on 2 ranks while the
  // program computed, against 0.7 ms for post + wait).
  return a.deferred ? kPosted : posted_unpolled(kPosted, true);
}

PostResult Engine::collective_guard_now(uint32_t slot, std::string* err) {
  if (slot >= table_.capacity()) {
    *err = "slot out of range";
    return kFailed;
  }
  SlotStatus* st = table_.status(slot);
  Request* r = table_.get(slot);
  if (st->state.load(std::memory_order_acquire) != kSlotPending) return kCompleted;
  int32_t p = kUnguarded;
  if (!r->phase.compare_exchange_strong(p, kGuarding, std::memory_order_acq_rel)) {
    if (p != kFinishing) return kPosted;
    while (st->state.load(std::memory_order_acquire) == kSlotPending) cpu_relax();
    return kCompleted;
  }
  // The schedule stays alive while we are kGuarding (its completion hands over to us).
  auto* s = static_cast<coll::Schedule*>(r->extra);
  std::string gerr;
  const bool ok = coll::acquire_guards(s, &gerr);
  p = kGuarding;
  if (r->phase.compare_exchange_strong(p, kGuarded, std::memory_order_acq_rel)) {
    if (!ok) wait(slot, 0);  // no guard: the program must not run until the collective is done
    return ok ? kPosted : kCompleted;
  }
  coll::finish(s, true);  // kEarlyDone: completed while we were protecting
  return kCompleted;
}

}  // namespace zc::protocol
