#include "protocol/matching.h"

namespace zc::protocol {

void MatchList::push_back(MatchEntry* e) {
  e->prev = tail_;
  e->next = nullptr;
  if (tail_) tail_->next = e;
  else head_ = e;
  tail_ = e;
  e->queued = true;
  size_++;
}

void MatchList::remove(MatchEntry* e) {
  if (e->prev) e->prev->next = e->next;
  else head_ = e->next;
  if (e->next) e->next->prev = e->prev;
  else tail_ = e->prev;
  e->prev = e->next = nullptr;
  e->queued = false;
  size_--;
}

MatchEntry* MatchQueues::match_arrival(uint64_t tag) {
  for (MatchEntry* e = posted_.head(); e; e = e->next) {
    if (tags_match(tag, e->tag, e->mask)) {
      posted_.remove(e);
      return e;
    }
  }
  return nullptr;
}

MatchEntry* MatchQueues::match_posting(uint64_t tag, uint64_t mask) {
  for (MatchEntry* e = unexpected_.head(); e; e = e->next) {
    if (tags_match(e->tag, tag, mask)) {
      unexpected_.remove(e);
      return e;
    }
  }
  return nullptr;
}

bool MatchQueues::remove_posted(MatchEntry* e) {
  if (!e->queued) return false;
  posted_.remove(e);
  return true;
}

bool MatchQueues::remove_unexpected(MatchEntry* e) {
  if (!e->queued) return false;
  unexpected_.remove(e);
  return true;
}

}  // namespace zc::protocol
