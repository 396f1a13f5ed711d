// MPI matching for transports that do not match tags themselves (verbs).
//
// Two queues: receives posted and not yet matched (in posting order), and messages that
// arrived before any receive matched them (in arrival order). A message matches a receive
// when (message tag & mask) == (receive tag & mask) (protocol/tag.h: clearing the source or
// user-tag field of the mask is ANY_SOURCE / ANY_TAG). Both queues are searched oldest
// first, so a message takes the earliest matching receive and a receive the earliest
// matching message: with messages arriving in sending order per source (one in-order
// connection per peer), that is MPI's non-overtaking rule.
//
// The queues hold entries the caller owns (intrusive links, no allocation here); what the
// entry stands for (a receive buffer, a copied eager payload, a rendezvous announcement) is
// the caller's business. Not thread-safe: the caller serializes (the transport's lock).
#pragma once

#include <cstddef>
#include <cstdint>

namespace zc::protocol {

struct MatchEntry {
  uint64_t tag = 0;
  uint64_t mask = ~0ull;  // posted receives only
  MatchEntry* prev = nullptr;
  MatchEntry* next = nullptr;
  bool queued = false;
};

// One queue (oldest first) with unlink in O(1).
class MatchList {
 public:
  void push_back(MatchEntry* e);
  void remove(MatchEntry* e);
  MatchEntry* head() const { return head_; }
  size_t size() const { return size_; }

 private:
  MatchEntry* head_ = nullptr;
  MatchEntry* tail_ = nullptr;
  size_t size_ = 0;
};

class MatchQueues {
 public:
  // A message with this tag arrived: the oldest posted receive it matches, removed from the
  // posted queue; null if none (the caller then keeps the message with add_unexpected).
  MatchEntry* match_arrival(uint64_t tag);
  // A receive (tag, mask) is being posted: the oldest unexpected message it matches,
  // removed; null if none (the caller then queues the receive with add_posted).
  MatchEntry* match_posting(uint64_t tag, uint64_t mask);

  void add_posted(MatchEntry* e) { posted_.push_back(e); }
  void add_unexpected(MatchEntry* e) { unexpected_.push_back(e); }
  // Removes a posted receive (cancel); false if it was not queued (already matched).
  bool remove_posted(MatchEntry* e);
  bool remove_unexpected(MatchEntry* e);

  // Visits every entry of a queue, oldest first; fn may remove the entry it is given.
  template <typename Fn>
  void for_each_posted(Fn fn) { visit(posted_, fn); }
  template <typename Fn>
  void for_each_unexpected(Fn fn) { visit(unexpected_, fn); }

  size_t posted_count() const { return posted_.size(); }
  size_t unexpected_count() const { return unexpected_.size(); }

 private:
  template <typename Fn>
  static void visit(MatchList& l, Fn fn) {
    for (MatchEntry* e = l.head(); e;) {
      MatchEntry* next = e->next;
      fn(e);
      e = next;
    }
  }
  MatchList posted_;
  MatchList unexpected_;
};

constexpr bool tags_match(uint64_t message_tag, uint64_t recv_tag, uint64_t mask) {
  return ((message_tag ^ recv_tag) & mask) == 0;
}

}  // namespace zc::protocol
