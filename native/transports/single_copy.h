// Same-host single-copy for large messages from registered memory.
//
// A comm.alloc block is a memfd (memory/arena.h). When the sender and the receiver run on
// the same host, the sender does not move the bytes at all: it sends a small header (a
// Descriptor: which block, where in it, how long) in place of the message, tagged with the
// transport's own tag bit (protocol/tag.h) so it matches the same receive the bytes would
// have. The receiver maps the sender's block once (opening /proc/<pid>/fd/<fd>, which the
// kernel allows a process of the same user that may read the other's memory), copies the
// bytes straight into its own buffer with one memcpy, and acknowledges; the sender's
// request completes, and its guard lifts, on the acknowledgement. One copy by the CPU, no
// kernel on the data path: CMA (process_vm_readv) pins and walks every 4 KiB page of both
// buffers on each call, which on this machine cost 73 us per MiB against memcpy's 46.
//
// The receiver's mapping keeps the sender's pages alive after the sender frees the block;
// mappings are cached per (sender, block generation), and generations are never reused, so
// a cached mapping can never show a later block's bytes. The cache is bounded (MappingCache).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <vector>

namespace zc::transport::single_copy {

// Who may map whose memory: ranks with equal identities are on one host, in one PID
// namespace (so a pid names the same process to both), as one user.
struct HostIdentity {
  char boot_id[40] = {0};   // /proc/sys/kernel/random/boot_id
  uint64_t pid_ns = 0;      // inode of /proc/self/ns/pid
  uint32_t uid = 0;
  int32_t pid = 0;
  bool same_host_as(const HostIdentity& o) const;
};
// This process's identity; false (single-copy off) if the kernel does not say.
bool local_identity(HostIdentity* out);

// What travels in place of the message (56 bytes).
struct Descriptor {
  uint32_t magic = 0;       // kMagic
  int32_t sender = -1;      // the sender's rank in the transport (world rank)
  uint64_t send_id = 0;     // echoed in the acknowledgement
  uint64_t generation = 0;  // the block's (arena.h)
  int32_t fd = -1;          // the block's memfd in the sender
  uint32_t reserved = 0;
  uint64_t offset = 0;      // of the message in the block
  uint64_t length = 0;      // of the message
  uint64_t block_size = 0;
};
constexpr uint32_t kMagic = 0x5a435343;  // "ZCSC"
static_assert(sizeof(Descriptor) == 56, "the descriptor's wire size");

// The receiver's answer. Truncated still completes the send: the receiver got a prefix.
enum class AckStatus : int32_t { Ok = 0, Truncated = 1, Unreadable = 2 };
struct Ack {
  uint64_t send_id = 0;
  AckStatus status = AckStatus::Ok;
  int32_t reserved = 0;
};

// The receiver's mappings of senders' blocks, least recently used first out. A mapping is
// also dropped as soon as its sender names another block by the same descriptor number: the
// sender closed that number when it freed the block, so the block is dead and only this
// mapping still pins its pages. Not thread-safe: the UCX transport uses it under its lock.
class MappingCache {
 public:
  MappingCache(size_t max_bytes, size_t max_entries) : max_bytes_(max_bytes), max_entries_(max_entries) {}
  ~MappingCache() { clear(); }
  MappingCache(const MappingCache&) = delete;
  MappingCache& operator=(const MappingCache&) = delete;

  // The sender's block mapped read-only (mapping it now if needed), or null with *why set
  // (a static text) when it cannot be mapped.
  const unsigned char* map(const Descriptor& d, int32_t sender_pid, const char** why);
  void clear();

  // Statistics; read from any thread.
  uint64_t maps_made() const { return maps_made_.load(std::memory_order_relaxed); }
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    int32_t sender;
    uint64_t generation;
    int32_t fd;  // the sender's descriptor number for the block
    unsigned char* base;
    size_t size;
  };
  std::list<Entry> entries_;  // most recently used first
  size_t bytes_ = 0;
  const size_t max_bytes_, max_entries_;
  std::atomic<uint64_t> maps_made_{0}, hits_{0};
};

}  // namespace zc::transport::single_copy
