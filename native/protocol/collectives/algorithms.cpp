// Algorithms: each builds the rounds of one collective for this rank (collective.h).
//
// Ranks in the builders are communicator ranks; rooted collectives work on the rank
// relative to the root (vr = (rank - root) mod size) so every root gets the same tree.
// Choices follow MPICH's and Open MPI coll/tuned's public defaults, simplified for the rank
// counts of one or a few machines; the switch points are in thresholds() and docs/design.md.
#include <algorithm>
#include <cstring>

#include "protocol/collectives/collective.h"

namespace zc::protocol::coll {

uint8_t* Plan::temp(size_t bytes) {
  temps.emplace_back(pool, bytes);
  if (!temps.back()) out_of_memory = true;
  return temps.back().get();
}

Round& Plan::round() {
  rounds.emplace_back();
  return rounds.back();
}

void Plan::send(int peer, const void* p, size_t bytes) {
  if (bytes == 0 && skip_empty) return;
  Step s{Step::Send, peer, nullptr, static_cast<const uint8_t*>(p), bytes};
  rounds.back().comm.push_back(s);
}

void Plan::recv(int peer, void* p, size_t bytes) {
  if (bytes == 0 && skip_empty) return;
  Step s{Step::Recv, peer, static_cast<uint8_t*>(p), nullptr, bytes};
  rounds.back().comm.push_back(s);
}

void Plan::reduce(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  Step s{Step::Reduce, -1, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), bytes};
  rounds.back().local.push_back(s);
}

void Plan::reduce_from(void* dst, const void* first, const void* src, size_t bytes) {
  if (bytes == 0) return;
  if (first == dst) return reduce(dst, src, bytes);
  Step s{Step::ReduceFrom, -1, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), bytes,
         static_cast<const uint8_t*>(first)};
  rounds.back().local.push_back(s);
}

void Plan::copy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0 || dst == src) return;
  Step s{Step::Copy, -1, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), bytes};
  rounds.back().local.push_back(s);
}

const Thresholds& thresholds() {
  static const Thresholds t;
  return t;
}

namespace {

int mod(int a, int p) { return ((a % p) + p) % p; }

// count elements split into p nearly equal chunks (the first count % p get one more).
struct Chunks {
  std::vector<size_t> off, len;  // elements
  Chunks(size_t count, int p) : off(p), len(p) {
    size_t base = count / p, extra = count % p, o = 0;
    for (int i = 0; i < p; i++) {
      len[i] = base + (size_t(i) < extra ? 1 : 0);
      off[i] = o;
      o += len[i];
    }
  }
};

// --- bcast ---

void bcast_binomial(const View& v, Plan& pl, uint8_t* buf, size_t bytes) {
  const int p = v.size, root = v.args->root, vr = mod(v.rank - root, p);
  int mask = 1;
  while (mask < p) {
    if (vr & mask) {
      pl.round();
      pl.recv(mod(vr - mask + root, p), buf, bytes);
      break;
    }
    mask <<= 1;
  }
  pl.round();
  for (mask >>= 1; mask > 0; mask >>= 1)
    if (vr + mask < p) pl.send(mod(vr + mask + root, p), buf, bytes);
}

// Binomial scatter of p blocks, then a ring allgather of them (van de Geijn).
void bcast_scatter_allgather(const View& v, Plan& pl, uint8_t* buf, size_t count) {
  const int p = v.size, root = v.args->root, vr = mod(v.rank - root, p);
  const size_t es = v.esize, chunk = (count + p - 1) / p;
  auto lo = [&](int b) { return std::min(count, size_t(b) * chunk); };  // elements
  auto range = [&](int b0, int b1) {  // bytes of blocks [b0, b1)
    b1 = std::min(b1, p);
    return std::make_pair(buf + lo(b0) * es, (lo(b1) - lo(b0)) * es);
  };
  auto abs = [&](int rel) { return mod(rel + root, p); };
  int mask = 1;
  while (mask < p) {
    if (vr & mask) {
      pl.round();
      auto r = range(vr, vr + mask);
      pl.recv(abs(vr - mask), r.first, r.second);
      break;
    }
    mask <<= 1;
  }
  pl.round();
  for (mask >>= 1; mask > 0; mask >>= 1) {
    if (vr + mask < p) {
      auto r = range(vr + mask, vr + 2 * mask);
      pl.send(abs(vr + mask), r.first, r.second);
    }
  }
  for (int s = 0; s < p - 1; s++) {
    pl.round();
    auto out = range(mod(vr - s, p), mod(vr - s, p) + 1);
    auto in = range(mod(vr - s - 1, p), mod(vr - s - 1, p) + 1);
    pl.send(abs(vr + 1), out.first, out.second);
    pl.recv(abs(vr - 1), in.first, in.second);
  }
}

void bcast(const View& v, Plan& pl) {
  const size_t bytes = v.args->count * v.esize;
  if (v.size >= 3 && bytes >= thresholds().bcast_scatter_allgather && v.args->count >= size_t(v.size)) {
    pl.algorithm = "scatter+ring-allgather";
    bcast_scatter_allgather(v, pl, v.out, v.args->count);
  } else {
    pl.algorithm = "binomial";
    bcast_binomial(v, pl, v.out, bytes);
  }
}

// --- reduce ---

// Binomial tree toward the root; each node folds its children in as they arrive. The first
// child's data is reduced with the input into the accumulator (reduce_from), and a leaf
// sends its input as it is: the input is never copied.
void reduce_binomial(const View& v, Plan& pl, const uint8_t* in, uint8_t* result_at_root) {
  const int p = v.size, root = v.args->root, vr = mod(v.rank - root, p);
  const size_t bytes = v.args->count * v.esize;
  const uint8_t* cur = in;
  uint8_t* acc = nullptr;
  uint8_t* tmp = nullptr;
  for (int mask = 1; mask < p; mask <<= 1) {
    if ((vr & mask) == 0) {
      int child = vr | mask;
      if (child < p) {
        if (!tmp) tmp = pl.temp(bytes);
        if (!acc) acc = vr == 0 ? result_at_root : pl.temp(bytes);
        pl.round();
        pl.recv(mod(child + root, p), tmp, bytes);
        pl.reduce_from(acc, cur, tmp, bytes);
        cur = acc;
      }
    } else {
      pl.round();
      pl.send(mod(vr - mask + root, p), cur, bytes);
      break;
    }
  }
  if (vr == 0 && cur != result_at_root) {
    pl.round();
    pl.copy(result_at_root, cur, bytes);
  }
}

// --- Rabenseifner's reduce-scatter (allreduce and reduce for large vectors) ---

// The largest power of two pof2 <= p ranks take part; the first 2*rem ranks pair up first
// (the even one of each pair hands its data to the odd one). Numbers among the pof2: nr.
struct Pof2Ranks {
  int pof2 = 1, rem = 0;
  explicit Pof2Ranks(int p) {
    while (pof2 * 2 <= p) pof2 *= 2;
    rem = p - pof2;
  }
  int newrank(int r) const { return r < 2 * rem ? (r % 2 == 0 ? -1 : r / 2) : r - rem; }
  int real(int n) const { return n < rem ? n * 2 + 1 : n + rem; }  // communicator rank of nr n
};

// count elements in pof2 chunks; windows of consecutive chunks in bytes.
struct Windows {
  Chunks c;
  size_t es;
  Windows(size_t count, int pof2, size_t esize) : c(count, pof2), es(esize) {}
  size_t at(int chunk) const { return c.off[size_t(chunk)] * es; }  // byte offset
  size_t span(int lo, int n) const { return (c.off[size_t(lo + n - 1)] + c.len[size_t(lo + n - 1)]) * es - at(lo); }
};

// Reduce-scatter by recursive halving among the pof2 ranks, rank nr among them: each round
// halves the window of chunks, sends the half the partner keeps (from cur: the input until
// the first reduction, no copy) and reduces the received half into acc (`cur op received`,
// reduce_from). Returns the window this rank keeps, one chunk (chunk nr: each round keeps
// the half named by nr's bit): acc holds it fully reduced, and the other chunks of acc hold
// partial sums at most (the allgather or gather that follows overwrites them).
int recursive_halving(Plan& pl, const Pof2Ranks& g, const Windows& w, int nr, const uint8_t* cur, uint8_t* acc) {
  uint8_t* tmp = pl.temp(w.span(0, g.pof2 / 2));  // the largest half received (chunk 0 is the longest)
  int lo = 0;
  for (int mask = g.pof2 / 2; mask > 0; mask >>= 1) {
    const int partner = nr ^ mask;
    const int keep = (nr & mask) ? lo + mask : lo, give = (nr & mask) ? lo : lo + mask;
    pl.round();
    pl.send(g.real(partner), cur + w.at(give), w.span(give, mask));
    pl.recv(g.real(partner), tmp, w.span(keep, mask));
    pl.reduce_from(acc + w.at(keep), cur + w.at(keep), tmp, w.span(keep, mask));
    cur = acc;
    lo = keep;
  }
  return lo;
}

// The pairing before it: the even rank of a pair sends its whole input, the odd one reduces
// it with its own into acc. Returns where this rank's partial result is now (acc or the input).
const uint8_t* pair_up(Plan& pl, const Pof2Ranks& g, int r, const uint8_t* in, uint8_t* acc, size_t bytes) {
  if (r >= 2 * g.rem) return in;
  pl.round();
  if (r % 2 == 0) {
    pl.send(r + 1, in, bytes);
    return in;
  }
  uint8_t* whole = pl.temp(bytes);
  pl.recv(r - 1, whole, bytes);
  pl.reduce_from(acc, in, whole, bytes);
  return acc;
}

// Rabenseifner's reduce for large vectors: reduce-scatter by recursive halving (as in the
// allreduce below), then a binomial gather of the reduced chunks to the root, among the
// largest power of two of ranks pof2 (the first 2*rem ranks pair up first; when the root is
// the even rank of a pair, its partner collects the result and hands it over at the end).
// Each rank sends about (pof2-1)/pof2 of the vector twice and reduces 1/pof2 of it per
// halving step, where the binomial tree makes the root receive and reduce log2(p) whole
// vectors. Commutative ops only (every native op is).
void reduce_rabenseifner(const View& v, Plan& pl) {
  const int p = v.size, r = v.rank, root = v.args->root;
  const size_t count = v.args->count, bytes = count * v.esize;
  const Pof2Ranks g(p);
  const int nroot = root < 2 * g.rem ? root / 2 : root - g.rem;  // who collects among the pof2
  const bool root_handed_on = root < 2 * g.rem && root % 2 == 0;
  const int nr = g.newrank(r);
  // The accumulator: the result buffer on the collector if that is the root, else scratch.
  uint8_t* acc = nullptr;
  if (nr >= 0) acc = r == root ? v.out : pl.temp(bytes);
  const uint8_t* cur = pair_up(pl, g, r, v.in, acc, bytes);
  if (nr >= 0) {
    const Windows w(count, g.pof2, v.esize);
    const int kept = recursive_halving(pl, g, w, nr, cur, acc);
    // Binomial gather toward nroot: relative rank nr ^ nroot; the windows are the halving's
    // in reverse (growing from the kept chunk), so each message lands in place in the
    // partner's accumulator.
    const int rel = nr ^ nroot;
    for (int mask = 1; mask < g.pof2; mask <<= 1) {
      const int partner = nr ^ mask;
      const int mine = kept & ~(mask - 1), theirs = mine ^ mask;
      pl.round();
      if (rel & mask) {
        pl.send(g.real(partner), acc + w.at(mine), w.span(mine, mask));
        break;
      }
      pl.recv(g.real(partner), acc + w.at(theirs), w.span(theirs, mask));
    }
    if (root_handed_on && nr == nroot) {
      pl.round();
      pl.send(root, acc, bytes);
    }
  }
  if (r == root && root_handed_on) {
    pl.round();
    pl.recv(r + 1, v.out, bytes);
  }
}

// --- allreduce ---

// Recursive doubling; with a non-power-of-two size the first 2*rem ranks pair up first
// (even ones hand their data to the odd neighbour and get the result back at the end).
// The input is never copied into the result: the first exchange sends it as it is and the
// first reduction writes `input op received` into the result (reduce_from).
void allreduce_recursive_doubling(const View& v, Plan& pl) {
  const int p = v.size, r = v.rank;
  const size_t bytes = v.args->count * v.esize;
  uint8_t* acc = v.out;
  const uint8_t* cur = v.in;  // where this rank's partial result is (the input until the first reduce)
  if (p == 1) {
    pl.round();
    pl.copy(acc, v.in, bytes);
    return;
  }
  int pof2 = 1;
  while (pof2 * 2 <= p) pof2 *= 2;
  const int rem = p - pof2;
  uint8_t* tmp = pl.temp(bytes);
  int newrank;
  if (r < 2 * rem) {
    pl.round();
    if (r % 2 == 0) {
      pl.send(r + 1, cur, bytes);
      newrank = -1;
    } else {
      pl.recv(r - 1, tmp, bytes);
      pl.reduce_from(acc, cur, tmp, bytes);
      cur = acc;
      newrank = r / 2;
    }
  } else {
    newrank = r - rem;
  }
  if (newrank >= 0) {
    for (int mask = 1; mask < pof2; mask <<= 1) {
      int nd = newrank ^ mask;
      int dst = nd < rem ? nd * 2 + 1 : nd + rem;
      pl.round();
      pl.send(dst, cur, bytes);
      pl.recv(dst, tmp, bytes);
      pl.reduce_from(acc, cur, tmp, bytes);
      cur = acc;
    }
  }
  if (r < 2 * rem) {
    pl.round();
    if (r % 2 == 0) pl.recv(r + 1, acc, bytes);
    else pl.send(r - 1, acc, bytes);
  }
}

// Ring reduce-scatter then ring allgather (bandwidth-optimal for any size: each rank sends
// 2 (p-1)/p of the data); the reduction folds each arriving chunk into the result in place.
// No copy of the input: in the reduce-scatter each chunk but this rank's own is reduced
// exactly once here (result = input op received), and this rank's own chunk is sent from
// the input in the first step and overwritten by the allgather.
void allreduce_ring(const View& v, Plan& pl) {
  const int p = v.size, r = v.rank;
  const size_t es = v.esize;
  Chunks c(v.args->count, p);
  uint8_t* acc = v.out;
  uint8_t* tmp = pl.temp(c.len[0] * es);
  for (int s = 0; s < p - 1; s++) {
    int so = mod(r - s, p), ri = mod(r - s - 1, p);
    pl.round();
    pl.send(mod(r + 1, p), (s == 0 ? v.in : acc) + c.off[so] * es, c.len[so] * es);
    pl.recv(mod(r - 1, p), tmp, c.len[ri] * es);
    pl.reduce_from(acc + c.off[ri] * es, v.in + c.off[ri] * es, tmp, c.len[ri] * es);
  }
  for (int s = 0; s < p - 1; s++) {
    int so = mod(r - s + 1, p), ri = mod(r - s, p);
    pl.round();
    pl.send(mod(r + 1, p), acc + c.off[so] * es, c.len[so] * es);
    pl.recv(mod(r - 1, p), acc + c.off[ri] * es, c.len[ri] * es);
  }
}

// Rabenseifner: reduce-scatter by recursive halving, then allgather by recursive doubling,
// among the largest power of two of ranks pof2 (the first 2*rem ranks pair up first, as in
// recursive doubling). Each rank sends about 2 (pof2-1)/pof2 of the data in 2 log2(pof2)
// rounds (ring: 2 (p-1) rounds). Commutative ops only (every native op is).
void allreduce_rabenseifner(const View& v, Plan& pl) {
  const int r = v.rank;
  const size_t count = v.args->count, bytes = count * v.esize;
  uint8_t* acc = v.out;
  const Pof2Ranks g(v.size);
  const int nr = g.newrank(r);  // -1: handed its data on
  // Where this rank's partial result is: the input until the first reduce (no copy of the
  // input: the halves given away are overwritten by the allgather, the kept ones get
  // `input op received` from the first reduction).
  const uint8_t* cur = pair_up(pl, g, r, v.in, acc, bytes);
  if (nr >= 0) {
    const Windows w(count, g.pof2, v.esize);
    const int kept = recursive_halving(pl, g, w, nr, cur, acc);
    // Doubling: exchange the reduced windows back, growing from the kept chunk.
    for (int mask = 1; mask < g.pof2; mask <<= 1) {
      const int partner = nr ^ mask;
      const int mine = kept & ~(mask - 1), theirs = mine ^ mask;
      pl.round();
      pl.send(g.real(partner), acc + w.at(mine), w.span(mine, mask));
      pl.recv(g.real(partner), acc + w.at(theirs), w.span(theirs, mask));
    }
  }
  if (r < 2 * g.rem) {
    pl.round();
    if (r % 2 == 0) pl.recv(r + 1, acc, bytes);
    else pl.send(r - 1, acc, bytes);
  }
}

void allreduce(const View& v, Plan& pl) {
  const size_t bytes = v.args->count * v.esize;
  const bool large = v.size > 1 && v.args->count >= size_t(v.size);
  // Rabenseifner's pairing step on a non-power-of-two count sends the whole vector once
  // more; the ring has no such step.
  const bool power_of_two = (v.size & (v.size - 1)) == 0;
  if (large && !power_of_two && bytes >= thresholds().allreduce_ring) {
    pl.algorithm = "ring (reduce-scatter + allgather)";
    allreduce_ring(v, pl);
  } else if (large && bytes >= thresholds().allreduce_rabenseifner) {
    pl.algorithm = "rabenseifner (recursive halving + doubling)";
    allreduce_rabenseifner(v, pl);
  } else {
    pl.algorithm = "recursive doubling";
    allreduce_recursive_doubling(v, pl);
  }
}

// --- allgather ---

// Bruck: log2(p) rounds for any p, blocks gathered rotated in a temporary, then unrotated.
void allgather_bruck(const View& v, Plan& pl, const uint8_t* mine, uint8_t* out, size_t cb) {
  const int p = v.size, r = v.rank;
  uint8_t* tmp = pl.temp(cb * p);
  pl.round();
  pl.copy(tmp, mine, cb);
  for (int pof = 1; pof < p; pof <<= 1) {
    int n = std::min(pof, p - pof);
    pl.round();
    pl.send(mod(r - pof, p), tmp, size_t(n) * cb);
    pl.recv(mod(r + pof, p), tmp + size_t(pof) * cb, size_t(n) * cb);
  }
  // tmp[i] is block (r + i) mod p.
  pl.round();
  pl.copy(out + size_t(r) * cb, tmp, size_t(p - r) * cb);
  pl.copy(out, tmp + size_t(p - r) * cb, size_t(r) * cb);
}

void allgather_ring(const View& v, Plan& pl, const uint8_t* mine, uint8_t* out, size_t cb) {
  const int p = v.size, r = v.rank;
  pl.round();
  pl.copy(out + size_t(r) * cb, mine, cb);
  for (int s = 0; s < p - 1; s++) {
    pl.round();
    pl.send(mod(r + 1, p), out + size_t(mod(r - s, p)) * cb, cb);
    pl.recv(mod(r - 1, p), out + size_t(mod(r - s - 1, p)) * cb, cb);
  }
}

void allgather(const View& v, Plan& pl) {
  const size_t cb = v.args->count * v.esize;
  if (cb * v.size >= thresholds().allgather_ring) {
    pl.algorithm = "ring";
    allgather_ring(v, pl, v.in, v.out, cb);
  } else {
    pl.algorithm = "bruck";
    allgather_bruck(v, pl, v.in, v.out, cb);
  }
}

// --- gather / scatter (linear: the root's receives land in place, zero-copy) ---

void gather_linear(const View& v, Plan& pl, const std::vector<size_t>& counts, const std::vector<size_t>& displs,
                   size_t mycount) {
  const int p = v.size, r = v.rank, root = v.args->root;
  const size_t es = v.esize;
  pl.round();
  if (r == root) {
    pl.copy(v.out + displs[r] * es, v.in, counts[r] * es);
    for (int i = 0; i < p; i++)
      if (i != r) pl.recv(i, v.out + displs[i] * es, counts[i] * es);
  } else {
    pl.send(root, v.in, mycount * es);
  }
}

void scatter_linear(const View& v, Plan& pl, const std::vector<size_t>& counts, const std::vector<size_t>& displs,
                    size_t mycount) {
  const int p = v.size, r = v.rank, root = v.args->root;
  const size_t es = v.esize;
  pl.round();
  if (r == root) {
    if (v.out) pl.copy(v.out, v.in + displs[r] * es, counts[r] * es);
    for (int i = 0; i < p; i++)
      if (i != r) pl.send(i, v.in + displs[i] * es, counts[i] * es);
  } else {
    pl.recv(root, v.out, mycount * es);
  }
}

// Binomial trees for the uniform gather and scatter: log2(p) rounds instead of p-1 messages
// through the root. Ranks work relative to the root (vr); a subtree's blocks are contiguous
// in relative order, so interior ranks forward one message per child. The root's relative
// order is the absolute order rotated by root: root 0 receives or sends in place.
void gather_binomial(const View& v, Plan& pl) {
  const int p = v.size, root = v.args->root, vr = mod(v.rank - root, p);
  const size_t cb = v.args->count * v.esize;
  int subtree = 1;  // blocks this rank ends up with
  while (subtree < p && (vr & subtree) == 0) subtree <<= 1;
  subtree = std::min(subtree, p - vr);
  uint8_t* blocks = nullptr;  // relative blocks [vr, vr + subtree)
  if (subtree == 1) {
    blocks = const_cast<uint8_t*>(v.in);
  } else {
    blocks = vr == 0 && root == 0 ? v.out : pl.temp(cb * size_t(subtree));
    pl.round();
    pl.copy(blocks, v.in, cb);
    for (int mask = 1; mask < p && (vr & mask) == 0; mask <<= 1) {
      const int child = vr + mask;
      if (child >= p) break;
      const size_t n = size_t(std::min(mask, p - child));
      pl.recv(mod(child + root, p), blocks + size_t(mask) * cb, n * cb);
    }
  }
  if (vr != 0) {
    int mask = 1;
    while ((vr & mask) == 0) mask <<= 1;
    pl.round();
    pl.send(mod(vr - mask + root, p), blocks, size_t(subtree) * cb);
  } else if (blocks != v.out) {
    pl.round();
    pl.copy(v.out + size_t(root) * cb, blocks, size_t(p - root) * cb);
    pl.copy(v.out, blocks + size_t(p - root) * cb, size_t(root) * cb);
  }
}

void scatter_binomial(const View& v, Plan& pl) {
  const int p = v.size, root = v.args->root, vr = mod(v.rank - root, p);
  const size_t cb = v.args->count * v.esize;
  int top = 1;  // the mask this rank receives at (p or more at the root)
  while (top < p && (vr & top) == 0) top <<= 1;
  const int subtree = std::min(top, p - vr);
  const uint8_t* blocks = nullptr;  // relative blocks [vr, vr + subtree)
  if (vr == 0) {
    if (root == 0) {
      blocks = v.in;
    } else {
      uint8_t* t = pl.temp(cb * size_t(p));
      pl.round();
      pl.copy(t, v.in + size_t(root) * cb, size_t(p - root) * cb);
      pl.copy(t + size_t(p - root) * cb, v.in, size_t(root) * cb);
      blocks = t;
    }
  } else {
    uint8_t* t = subtree == 1 ? v.out : pl.temp(cb * size_t(subtree));
    pl.round();
    pl.recv(mod(vr - top + root, p), t, size_t(subtree) * cb);
    blocks = t;
  }
  pl.round();
  for (int mask = top >> 1; mask > 0; mask >>= 1) {
    const int child = vr + mask;
    if (child < p) pl.send(mod(child + root, p), blocks + size_t(mask) * cb, size_t(std::min(mask, p - child)) * cb);
  }
  if (v.out && blocks != v.out) pl.copy(v.out, blocks, cb);
}

std::vector<size_t> uniform(int p, size_t count, bool displ) {
  std::vector<size_t> out(p);
  for (int i = 0; i < p; i++) out[i] = displ ? size_t(i) * count : count;
  return out;
}

// --- alltoall ---

void alltoall_v(const View& v, Plan& pl, const std::vector<size_t>& sc, const std::vector<size_t>& sd,
                const std::vector<size_t>& rc, const std::vector<size_t>& rd, bool pairwise) {
  const int p = v.size, r = v.rank;
  const size_t es = v.esize;
  pl.round();
  pl.copy(v.out + rd[r] * es, v.in + sd[r] * es, std::min(sc[r], rc[r]) * es);
  if (sc[r] != rc[r]) {
    // Our own block is "sent" to ourselves: a length mismatch is a count mismatch too.
    pl.send(r, v.in + sd[r] * es, sc[r] * es);
    pl.recv(r, v.out + rd[r] * es, rc[r] * es);
  }
  for (int s = 1; s < p; s++) {
    if (pairwise) pl.round();
    int to = mod(r + s, p), from = mod(r - s, p);
    pl.send(to, v.in + sd[to] * es, sc[to] * es);
    pl.recv(from, v.out + rd[from] * es, rc[from] * es);
  }
}

// Bruck: ceil(log2 p) rounds for small blocks. Blocks are rotated so index i holds the
// block for rank r + i; round k sends every block whose index has bit k to rank r + k
// (packed), so after all rounds index i holds the block from rank r - i.
void alltoall_bruck(const View& v, Plan& pl) {
  const int p = v.size, r = v.rank;
  const size_t cb = v.args->count * v.esize;
  uint8_t* rot = pl.temp(cb * size_t(p));
  uint8_t* pack = pl.temp(cb * size_t((p + 1) / 2));
  uint8_t* unpack = pl.temp(cb * size_t((p + 1) / 2));
  auto packed = [&](int k, bool out) {  // copies the blocks with bit k between rot and a pack buffer
    int n = 0;
    for (int i = 1; i < p; i++) {
      if ((i & k) == 0) continue;
      if (out) pl.copy(pack + size_t(n) * cb, rot + size_t(i) * cb, cb);
      else pl.copy(rot + size_t(i) * cb, unpack + size_t(n) * cb, cb);
      n++;
    }
    return n;
  };
  pl.round();
  pl.copy(rot, v.in + size_t(r) * cb, size_t(p - r) * cb);
  pl.copy(rot + size_t(p - r) * cb, v.in, size_t(r) * cb);
  int n = packed(1, true);
  for (int k = 1; k < p; k <<= 1) {
    pl.round();
    pl.send(mod(r + k, p), pack, size_t(n) * cb);
    pl.recv(mod(r - k, p), unpack, size_t(n) * cb);
    packed(k, false);
    if (k * 2 < p) n = packed(k * 2, true);
  }
  // rot[i] came from rank r - i.
  pl.round();
  for (int i = 0; i < p; i++) pl.copy(v.out + size_t(mod(r - i, p)) * cb, rot + size_t(i) * cb, cb);
}

// --- reduce-scatter (ring; rank r ends with block r) ---

void reduce_scatter_ring(const View& v, Plan& pl, const std::vector<size_t>& counts) {
  const int p = v.size, r = v.rank;
  const size_t es = v.esize;
  std::vector<size_t> off(p);
  size_t total = 0, maxc = 0;
  for (int i = 0; i < p; i++) {
    off[i] = total;
    total += counts[i];
    maxc = std::max(maxc, counts[i]);
  }
  // The input is read-only (a send buffer); IN_PLACE inputs live in the result buffer.
  // Each chunk but r - 1 (sent as it is in the first step) is reduced exactly once here,
  // as `input op received` (reduce_from): no copy of the input. The last one, block r, is
  // reduced straight into the result unless in place (it may overlap other blocks there).
  const bool in_place = v.args->in_place;
  uint8_t* acc = in_place ? v.out : pl.temp(total * es);
  uint8_t* tmp = pl.temp(maxc * es);
  if (p == 1) {
    pl.round();
    pl.copy(v.out, v.in, counts[0] * es);
    return;
  }
  for (int s = 0; s < p - 1; s++) {
    int so = mod(r - s - 1, p), ri = mod(r - s - 2, p);
    pl.round();
    pl.send(mod(r + 1, p), (s == 0 ? v.in : acc) + off[so] * es, counts[so] * es);
    pl.recv(mod(r - 1, p), tmp, counts[ri] * es);
    uint8_t* dst = ri == r && !in_place ? v.out : acc + off[ri] * es;
    pl.reduce_from(dst, v.in + off[ri] * es, tmp, counts[ri] * es);
  }
  if (in_place && off[r] != 0) {
    pl.round();
    // memmove semantics (the in-place block may overlap the start of the buffer).
    pl.copy(v.out, acc + off[r] * es, counts[r] * es);
  }
}

// Recursive halving (commutative ops): log2(pof2) rounds, each sending half of what is left.
// With a non-power-of-two size the first 2*rem ranks pair up first: the even one hands its
// whole input to the odd one, which then stands for both blocks and hands the even rank its
// block at the end. Stand-in n owns the real blocks [first(n), first(n + 1)), contiguous.
void reduce_scatter_halving(const View& v, Plan& pl, const std::vector<size_t>& counts) {
  const int p = v.size, r = v.rank;
  const size_t es = v.esize;
  std::vector<size_t> off(size_t(p) + 1, 0);
  for (int i = 0; i < p; i++) off[size_t(i) + 1] = off[size_t(i)] + counts[size_t(i)];
  const size_t total = off[size_t(p)];
  uint8_t* acc = v.args->in_place ? v.out : pl.temp(total * es);
  uint8_t* tmp = pl.temp(total * es);
  const uint8_t* cur = v.in;  // the partial result: the input until the first reduce (no copy)
  int pof2 = 1;
  while (pof2 * 2 <= p) pof2 *= 2;
  const int rem = p - pof2;
  int nr;
  if (r < 2 * rem) {
    pl.round();
    if (r % 2 == 0) {
      pl.send(r + 1, cur, total * es);
      nr = -1;
    } else {
      pl.recv(r - 1, tmp, total * es);
      pl.reduce_from(acc, cur, tmp, total * es);
      cur = acc;
      nr = r / 2;
    }
  } else {
    nr = r - rem;
  }
  auto real = [&](int n) { return n < rem ? n * 2 + 1 : n + rem; };
  auto first = [&](int n) { return n >= pof2 ? p : (n < rem ? n * 2 : n + rem); };
  auto at = [&](int n) { return off[size_t(first(n))] * es; };            // byte offset of stand-in n's blocks
  auto span = [&](int lo, int n) { return at(lo + n) - at(lo); };         // bytes of stand-ins [lo, lo + n)
  if (nr >= 0) {
    int lo = 0;
    for (int mask = pof2 / 2; mask > 0; mask >>= 1) {
      const int partner = nr ^ mask;
      const int keep = (nr & mask) ? lo + mask : lo, give = (nr & mask) ? lo : lo + mask;
      pl.round();
      pl.send(real(partner), cur + at(give), span(give, mask));
      pl.recv(real(partner), tmp, span(keep, mask));
      pl.reduce_from(acc + at(keep), cur + at(keep), tmp, span(keep, mask));
      cur = acc;
      lo = keep;
    }
  }
  pl.round();
  if (r < 2 * rem && r % 2 == 0) {
    pl.recv(r + 1, v.out, counts[size_t(r)] * es);
  } else {
    if (r < 2 * rem) pl.send(r - 1, acc + off[size_t(r) - 1] * es, counts[size_t(r) - 1] * es);
    // memmove semantics (the in-place block may overlap the start of the buffer).
    if (acc + off[size_t(r)] * es != v.out) pl.copy(v.out, acc + off[size_t(r)] * es, counts[size_t(r)] * es);
  }
}

void reduce_scatter(const View& v, Plan& pl, const std::vector<size_t>& counts) {
  size_t total = 0;
  for (size_t c : counts) total += c;
  if (v.size > 2 && total * v.esize < thresholds().reduce_scatter_ring) {
    pl.algorithm = "recursive halving";
    reduce_scatter_halving(v, pl, counts);
  } else {
    pl.algorithm = "ring";
    reduce_scatter_ring(v, pl, counts);
  }
}

// --- scan / exscan (recursive doubling) ---

void scan(const View& v, Plan& pl, bool exclusive) {
  const int p = v.size, r = v.rank;
  const size_t bytes = v.args->count * v.esize;
  uint8_t* partial = pl.temp(bytes);
  uint8_t* tmp = pl.temp(bytes);
  pl.round();
  pl.copy(partial, v.in, bytes);
  if (!exclusive) pl.copy(v.out, v.in, bytes);
  bool have = !exclusive;
  for (int mask = 1; mask < p; mask <<= 1) {
    int dst = r ^ mask;
    if (dst >= p) continue;
    pl.round();
    pl.send(dst, partial, bytes);
    pl.recv(dst, tmp, bytes);
    pl.reduce(partial, tmp, bytes);
    if (dst < r) {
      if (have) {
        pl.reduce(v.out, tmp, bytes);
      } else {
        pl.copy(v.out, tmp, bytes);
        have = true;
      }
    }
  }
}

}  // namespace

bool build_plan(const View& v, Plan* plan, std::string* err) {
  Plan& pl = *plan;
  const Args& a = *v.args;
  const int p = v.size;
  pl.dtype = a.dtype;
  pl.op = a.op;
  pl.skip_empty = !is_v_kind(a.kind);
  if (a.js_fold) {
    pl.algorithm = "allgather for a JavaScript op";
    pl.op = ReduceOp::None;
    allgather(v, pl);
    return true;
  }
  switch (a.kind) {
    case Kind::Barrier:
      pl.algorithm = "dissemination (the signature exchange)";
      return true;
    case Kind::Bcast:
      bcast(v, pl);
      return true;
    case Kind::Reduce:
      if (p > 1 && a.count >= size_t(p) && a.count * v.esize >= thresholds().reduce_rabenseifner) {
        pl.algorithm = "rabenseifner (recursive halving + binomial gather)";
        reduce_rabenseifner(v, pl);
      } else {
        pl.algorithm = "binomial";
        reduce_binomial(v, pl, v.in, v.out);
      }
      return true;
    case Kind::Allreduce:
      allreduce(v, pl);
      return true;
    case Kind::Gather:
      if (p > 2 && a.count * v.esize * size_t(p) < thresholds().gather_binomial) {
        pl.algorithm = "binomial";
        gather_binomial(v, pl);
      } else {
        pl.algorithm = "linear";
        gather_linear(v, pl, uniform(p, a.count, false), uniform(p, a.count, true), a.count);
      }
      return true;
    case Kind::Scatter:
      if (p > 2 && a.count * v.esize * size_t(p) < thresholds().scatter_binomial) {
        pl.algorithm = "binomial";
        scatter_binomial(v, pl);
      } else {
        pl.algorithm = "linear";
        scatter_linear(v, pl, uniform(p, a.count, false), uniform(p, a.count, true), a.count);
      }
      return true;
    case Kind::Gatherv:
      pl.algorithm = "linear";
      gather_linear(v, pl, a.recv_counts, a.recv_displs, a.count);
      return true;
    case Kind::Scatterv:
      pl.algorithm = "linear";
      scatter_linear(v, pl, a.send_counts, a.send_displs, a.count);
      return true;
    case Kind::Allgather:
      allgather(v, pl);
      return true;
    case Kind::Allgatherv: {
      pl.algorithm = "ring";
      const size_t es = v.esize;
      const int r = v.rank;
      pl.round();
      pl.copy(v.out + a.recv_displs[r] * es, v.in, a.recv_counts[r] * es);
      for (int s = 0; s < p - 1; s++) {
        int so = mod(r - s, p), ri = mod(r - s - 1, p);
        pl.round();
        pl.send(mod(r + 1, p), v.out + a.recv_displs[so] * es, a.recv_counts[so] * es);
        pl.recv(mod(r - 1, p), v.out + a.recv_displs[ri] * es, a.recv_counts[ri] * es);
      }
      return true;
    }
    case Kind::Alltoall: {
      if (p > 2 && a.count * v.esize <= thresholds().alltoall_bruck) {
        pl.algorithm = "bruck";
        alltoall_bruck(v, pl);
        return true;
      }
      const bool pairwise = a.count * v.esize >= thresholds().alltoall_pairwise;
      pl.algorithm = pairwise ? "pairwise exchange" : "all at once (linear)";
      alltoall_v(v, pl, uniform(p, a.count, false), uniform(p, a.count, true), uniform(p, a.count, false),
                 uniform(p, a.count, true), pairwise);
      return true;
    }
    case Kind::Alltoallv:
      pl.algorithm = "all at once (linear)";
      alltoall_v(v, pl, a.send_counts, a.send_displs, a.recv_counts, a.recv_displs, false);
      return true;
    case Kind::ReduceScatter:
      reduce_scatter(v, pl, a.recv_counts);
      return true;
    case Kind::ReduceScatterBlock:
      reduce_scatter(v, pl, uniform(p, a.count, false));
      return true;
    case Kind::Scan:
      pl.algorithm = "recursive doubling";
      scan(v, pl, false);
      return true;
    case Kind::Exscan:
      pl.algorithm = "recursive doubling";
      scan(v, pl, true);
      return true;
  }
  *err = "unknown collective";
  return false;
}

}  // namespace zc::protocol::coll
