// The protocol's matching queues (native/protocol/matching.h) without any transport:
// oldest-first matching both ways, ANY_SOURCE/ANY_TAG masks, context separation,
// non-overtaking per source and tag, cancel. Prints `matching ok N` or the first failure.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "protocol/matching.h"
#include "protocol/tag.h"

using namespace zc::protocol;

static int checks = 0;
#define CHECK(c)                                                        \
  do {                                                                  \
    checks++;                                                           \
    if (!(c)) {                                                         \
      std::printf("FAIL line %d: %s\n", __LINE__, #c);                  \
      std::exit(1);                                                     \
    }                                                                   \
  } while (0)

struct Msg {
  MatchEntry m;  // first member
  int id;
};

static Msg* msg(uint64_t tag, int id) {
  auto* x = new Msg();
  x->m.tag = tag;
  x->id = id;
  return x;
}
static Msg* recv(uint64_t tag, uint64_t mask, int id) {
  Msg* x = msg(tag, id);
  x->m.mask = mask;
  return x;
}

int main() {
  MatchQueues q;
  // Unexpected messages from two sources, same tag: a specific receive takes its source's
  // oldest; ANY_SOURCE takes the oldest overall.
  q.add_unexpected(&msg(make_tag(kContextP2P, 1, 7), 1)->m);
  q.add_unexpected(&msg(make_tag(kContextP2P, 2, 7), 2)->m);
  q.add_unexpected(&msg(make_tag(kContextP2P, 1, 7), 3)->m);
  q.add_unexpected(&msg(make_tag(kContextP2P, 1, 8), 4)->m);
  MatchEntry* e = q.match_posting(make_tag(kContextP2P, 2, 7), make_mask(false, false));
  CHECK(e && reinterpret_cast<Msg*>(e)->id == 2);
  e = q.match_posting(make_tag(kContextP2P, 1, 8), make_mask(false, false));
  CHECK(e && reinterpret_cast<Msg*>(e)->id == 4);
  e = q.match_posting(make_tag(kContextP2P, 0, 7), make_mask(true, false));
  CHECK(e && reinterpret_cast<Msg*>(e)->id == 1);  // non-overtaking: 1 before 3
  e = q.match_posting(make_tag(kContextP2P, 0, 0), make_mask(true, true));
  CHECK(e && reinterpret_cast<Msg*>(e)->id == 3);
  CHECK(q.unexpected_count() == 0);
  // A collective message never matches a point-to-point wildcard receive.
  q.add_unexpected(&msg(make_tag(kContextCollective, 1, 7), 5)->m);
  CHECK(q.match_posting(make_tag(kContextP2P, 0, 0), make_mask(true, true)) == nullptr);
  // Point-to-point of a split/dup communicator (id 1: context 2, source in its numbering)
  // never matches the world's wildcard receive, nor the other way round.
  q.add_unexpected(&msg(make_tag(p2p_context(1), 1, 7), 6)->m);
  CHECK(q.match_posting(make_tag(kContextP2P, 0, 0), make_mask(true, true)) == nullptr);
  q.add_unexpected(&msg(make_tag(kContextP2P, 1, 7), 7)->m);
  e = q.match_posting(make_tag(p2p_context(1), 0, 0), make_mask(true, true));
  CHECK(e && reinterpret_cast<Msg*>(e)->id == 6);
  e = q.match_posting(make_tag(kContextP2P, 0, 0), make_mask(true, true));
  CHECK(e && reinterpret_cast<Msg*>(e)->id == 7);
  CHECK(q.match_posting(make_tag(p2p_context(1), 0, 0), make_mask(true, true)) == nullptr);

  // Posted receives: an arriving message takes the oldest matching one.
  Msg* r1 = recv(make_tag(kContextP2P, 3, 1), make_mask(false, false), 11);
  Msg* r2 = recv(make_tag(kContextP2P, 0, 0), make_mask(true, true), 12);
  Msg* r3 = recv(make_tag(kContextP2P, 3, 1), make_mask(false, false), 13);
  q.add_posted(&r1->m);
  q.add_posted(&r2->m);
  q.add_posted(&r3->m);
  e = q.match_arrival(make_tag(kContextP2P, 3, 2));
  CHECK(e == &r2->m);  // only the wildcard matches tag 2
  e = q.match_arrival(make_tag(kContextP2P, 3, 1));
  CHECK(e == &r1->m);
  CHECK(q.remove_posted(&r3->m));  // cancel
  CHECK(!q.remove_posted(&r3->m));
  CHECK(q.match_arrival(make_tag(kContextP2P, 3, 1)) == nullptr);

  // Many receives and messages, interleaved: every message goes to the first posted
  // receive that matches, in order per (source, tag).
  std::vector<Msg*> posted;
  for (int i = 0; i < 1000; i++) {
    Msg* r = recv(make_tag(kContextP2P, uint32_t(i % 4), uint32_t(i % 10)), make_mask(false, false), i);
    q.add_posted(&r->m);
    posted.push_back(r);
  }
  int next[4][10] = {};
  for (int k = 0; k < 1000; k++) {
    const uint32_t src = uint32_t(k % 4), tag = uint32_t(k % 10);
    e = q.match_arrival(make_tag(kContextP2P, src, tag));
    CHECK(e != nullptr);
    const int id = reinterpret_cast<Msg*>(e)->id;
    CHECK(id % 4 == int(src) && id % 10 == int(tag));
    CHECK(id >= next[src][tag]);
    next[src][tag] = id + 1;
  }
  CHECK(q.posted_count() == 0);
  std::printf("matching ok %d\n", checks);
  return 0;
}
