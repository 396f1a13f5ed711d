#include "protocol/request_table.h"

#include <sys/mman.h>

namespace zc::protocol {

RequestTable::RequestTable(uint32_t capacity) : capacity_(capacity) {
  for (auto& c : chunks_) c.store(nullptr, std::memory_order_relaxed);
  if (capacity_ > kChunk * kMaxChunks) capacity_ = kChunk * kMaxChunks;
  // One anonymous mapping: header, status words, drain buffer. Untouched pages cost nothing,
  // so a large capacity is free until used.
  const size_t page = 4096;
  size_t header_bytes = page;
  size_t status_bytes = (size_t(capacity_) * sizeof(SlotStatus) + page - 1) / page * page;
  size_t drain_bytes = (size_t(capacity_) * sizeof(int32_t) + page - 1) / page * page;
  map_bytes_ = header_bytes + status_bytes + drain_bytes;
  void* m = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return;
  map_ = m;
  header_ = static_cast<SharedHeader*>(m);
  status_ = reinterpret_cast<SlotStatus*>(static_cast<char*>(m) + header_bytes);
  drain_ = reinterpret_cast<int32_t*>(static_cast<char*>(m) + header_bytes + status_bytes);
}

RequestTable::~RequestTable() {
  for (auto& c : chunks_) delete[] c.load();
  if (map_) munmap(map_, map_bytes_);
}

Request* RequestTable::get(uint32_t slot) {
  uint32_t c = slot / kChunk;
  Request* chunk = chunks_[c].load(std::memory_order_acquire);
  if (!chunk) {
    chunk = new Request[kChunk];
    for (uint32_t i = 0; i < kChunk; i++) chunk[i].slot = c * kChunk + i;
    chunks_[c].store(chunk, std::memory_order_release);
  }
  return &chunk[slot % kChunk];
}

void RequestTable::push_done(Request* r) {
  SlotStatus* s = status(r->slot);
  // Order matters: queued before state, so JS never frees a slot that is still listed.
  s->queued.store(1, std::memory_order_relaxed);
  s->state.store(kSlotDone, std::memory_order_release);
  Request* head = done_head_.load(std::memory_order_relaxed);
  do {
    r->next_done = head;
  } while (!done_head_.compare_exchange_weak(head, r, std::memory_order_release, std::memory_order_relaxed));
  header_->queued_count.fetch_add(1, std::memory_order_release);
}

size_t RequestTable::drain() {
  Request* list = done_head_.exchange(nullptr, std::memory_order_acquire);
  // The list is newest first; deliver oldest first so completions keep their order.
  Request* reversed = nullptr;
  while (list) {
    Request* next = list->next_done;
    list->next_done = reversed;
    reversed = list;
    list = next;
  }
  size_t n = 0;
  for (Request* r = reversed; r; r = r->next_done) {
    drain_[n++] = int32_t(r->slot);
    status(r->slot)->queued.store(0, std::memory_order_release);
  }
  if (n) header_->queued_count.fetch_sub(int32_t(n), std::memory_order_acq_rel);
  return n;
}

}  // namespace zc::protocol
