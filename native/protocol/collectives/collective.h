// Collective operations as native schedules.
//
// A collective is compiled, at the call, into a Plan: a list of rounds, each a set of sends
// and receives posted together followed by local steps (reduce, copy) that run once all of
// them completed (algorithms.cpp picks the algorithm by size and rank count). The schedule
// (schedule.cpp) then runs entirely in the transport's completion callbacks, on whichever
// thread progresses (normally the transport's progress thread, which sleeps when idle): no
// step needs the JavaScript thread, which may be frozen in a guarded access meanwhile.
//
// Beside the data rounds, every collective runs a dissemination exchange of a small
// signature (kind, root, element type, op, count): ranks that called the collective with
// different arguments all fail with a message naming the mismatch instead of hanging on a
// message that never comes. The v-variants, whose per-rank counts only the receiver can
// check, also agree on the outcome after their data rounds, so all ranks report a failure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol/bounce_pool.h"
#include "protocol/reduce_ops.h"

namespace zc::protocol {
class Engine;
}

namespace zc::protocol::coll {

// Values shared with runtime/collectives.ts (KIND).
enum class Kind : uint8_t {
  Barrier = 0, Bcast = 1, Reduce = 2, Allreduce = 3, Gather = 4, Scatter = 5, Allgather = 6,
  Alltoall = 7, Gatherv = 8, Scatterv = 9, Allgatherv = 10, Alltoallv = 11, ReduceScatter = 12,
  ReduceScatterBlock = 13, Scan = 14, Exscan = 15,
};
constexpr int kKindCount = 16;
const char* kind_name(Kind k);
bool is_v_kind(Kind k);

// A communicator as the native side knows it: its id (tag context), this rank's place in it
// and the world rank of every member.
struct CommInfo {
  uint32_t id = 0;
  int rank = 0;
  int size = 1;
  std::vector<int> world;  // world rank of each member
  uint32_t seq = 0;        // next collective's sequence number (posting thread only)
};

// Registry of communicators (comms.cpp). The world (id 0) exists once the engine does.
std::shared_ptr<CommInfo> find_comm(Engine* e, uint32_t id);
bool add_comm(Engine* e, uint32_t id, int rank, std::vector<int> world, std::string* err);
void remove_comm(Engine* e, uint32_t id);

// What the bindings pass for one collective. Counts and displacements are in elements.
struct Args {
  Kind kind = Kind::Barrier;
  uint32_t comm = 0;
  void* send = nullptr;  // null: none on this rank, or IN_PLACE
  size_t send_bytes = 0;
  void* recv = nullptr;  // null: none on this rank
  size_t recv_bytes = 0;
  bool in_place = false;
  DType dtype = DType::U8;
  ReduceOp op = ReduceOp::None;
  int root = 0;
  size_t count = 0;  // the per-kind element count (see runtime/collectives.ts)
  std::vector<size_t> send_counts, send_displs, recv_counts, recv_displs;
  // The JavaScript function op: the data rounds are an allgather of `count` elements of
  // every rank into recv, the signature still names `kind` (the runtime folds).
  bool js_fold = false;
  bool deferred = false;  // blocking form: no guard until guard_now (see Engine::collective)
  const char* js_stack = nullptr;
};

// Scratch memory the transport may touch. It comes from the engine's bounce pool, whose
// pages are never shared with JavaScript memory: a plain buffer guarded no-access on the
// same page would make the kernel's copy (CMA, /proc/self/mem) fail with EFAULT.
class Scratch {
 public:
  Scratch() = default;
  Scratch(BouncePool* pool, size_t bytes) : pool_(pool) { p_ = static_cast<uint8_t*>(pool->get(bytes ? bytes : 1, &cap_)); }
  ~Scratch() { if (p_) pool_->put(p_, cap_); }
  Scratch(Scratch&& o) noexcept : pool_(o.pool_), p_(o.p_), cap_(o.cap_) { o.p_ = nullptr; }
  Scratch& operator=(Scratch&& o) noexcept {
    if (this != &o) {
      if (p_) pool_->put(p_, cap_);
      pool_ = o.pool_, p_ = o.p_, cap_ = o.cap_;
      o.p_ = nullptr;
    }
    return *this;
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  uint8_t* get() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  BouncePool* pool_ = nullptr;
  uint8_t* p_ = nullptr;
  size_t cap_ = 0;
};

// --- algorithm building (algorithms.cpp) ---

struct Step {
  // ReduceFrom: dst = first op src (reduce_ops.h reduce_from), so a reduction's first step
  // needs no separate copy of the input into the result.
  enum Type : uint8_t { Send, Recv, Reduce, Copy, ReduceFrom } type;
  int peer = -1;  // communicator rank (Send/Recv)
  uint8_t* dst = nullptr;
  const uint8_t* src = nullptr;
  size_t bytes = 0;
  const uint8_t* first = nullptr;  // ReduceFrom only
};

struct Round {
  std::vector<Step> comm;   // posted together
  std::vector<Step> local;  // after every comm step of the round completed
};

struct Plan {
  std::vector<Round> rounds;
  BouncePool* pool = nullptr;
  std::vector<Scratch> temps;
  bool out_of_memory = false;
  const char* algorithm = "";
  // Uniform collectives skip empty messages (every rank computes the same sizes; the
  // signature check guarantees they agree); v-variants always send, so a count mismatch
  // shows up as a wrong-length message instead of a receive waiting forever.
  bool skip_empty = true;
  DType dtype = DType::U8;
  ReduceOp op = ReduceOp::None;

  uint8_t* temp(size_t bytes);
  Round& round();
  void send(int peer, const void* p, size_t bytes);
  void recv(int peer, void* p, size_t bytes);
  void reduce(void* dst, const void* src, size_t bytes);
  // dst = first op src (first may be dst itself: then it is reduce()).
  void reduce_from(void* dst, const void* first, const void* src, size_t bytes);
  void copy(void* dst, const void* src, size_t bytes);
};

// What a builder sees: this rank's buffers as the schedule will use them.
struct View {
  const Args* args = nullptr;
  int rank = 0, size = 1;
  size_t esize = 1;
  const uint8_t* in = nullptr;  // this rank's input
  uint8_t* out = nullptr;       // the result buffer (null on ranks that get none)
};

// Tuning points (bytes), documented in docs/design.md (Collectives).
struct Thresholds {
  size_t bcast_scatter_allgather = 512 * 1024;
  size_t allreduce_rabenseifner = 16 * 1024;
  size_t reduce_rabenseifner = 1024 * 1024;  // count >= p too
  size_t allreduce_ring = 1024 * 1024;  // non-power-of-two rank counts only
  size_t allgather_ring = 64 * 1024;  // total result bytes
  size_t alltoall_bruck = 1024;          // per block, at most (3 ranks or more)
  size_t alltoall_pairwise = 32 * 1024;  // per block
  size_t reduce_scatter_ring = 512 * 1024;  // total input bytes (below: recursive halving, 3 ranks or more)
  size_t gather_binomial = 64 * 1024;       // total result bytes (below: binomial, 3 ranks or more)
  size_t scatter_binomial = 64 * 1024;      // total input bytes
};
const Thresholds& thresholds();

bool build_plan(const View& v, Plan* plan, std::string* err);

// --- running (schedule.cpp) ---

// Fails every collective in flight on this engine (a peer died); under the transport's lock.
void fail_all(Engine* e, int rank, const char* why);

}  // namespace zc::protocol::coll
