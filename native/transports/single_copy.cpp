// Host identity and the receiver's cache of mapped sender blocks (single_copy.h).
#include "transports/single_copy.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace zc::transport::single_copy {

bool HostIdentity::same_host_as(const HostIdentity& o) const {
  return boot_id[0] != 0 && std::strncmp(boot_id, o.boot_id, sizeof(boot_id)) == 0 && pid_ns == o.pid_ns &&
         pid_ns != 0 && uid == o.uid;
}

bool local_identity(HostIdentity* out) {
  *out = HostIdentity{};
  int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, out->boot_id, sizeof(out->boot_id) - 1);
  close(fd);
  if (n <= 0) return false;
  out->boot_id[n] = 0;
  if (char* nl = std::strchr(out->boot_id, '\n')) *nl = 0;
  struct stat st;
  if (stat("/proc/self/ns/pid", &st) != 0) return false;
  out->pid_ns = uint64_t(st.st_ino);
  out->uid = uint32_t(geteuid());
  out->pid = int32_t(getpid());
  return true;
}

const unsigned char* MappingCache::map(const Descriptor& d, int32_t sender_pid, const char** why) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->sender == d.sender && it->generation == d.generation) {
      if (it != entries_.begin()) entries_.splice(entries_.begin(), entries_, it);
      hits_.fetch_add(1, std::memory_order_relaxed);
      return entries_.front().base;
    }
  }
  if (d.block_size == 0 || d.offset > d.block_size || d.length > d.block_size - d.offset) {
    *why = "a single-copy header names bytes outside its block";
    return nullptr;
  }
  // The sender keeps the fd open while the send is in flight (it completes on our
  // acknowledgement), so the number names this block's memfd now.
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/fd/%d", int(sender_pid), int(d.fd));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = errno == EACCES || errno == EPERM
               ? "the sender's memory cannot be mapped: permission denied on /proc/<pid>/fd (set ZCMPI_SINGLE_COPY_MIN=0)"
               : "the sender's block could not be opened through /proc/<pid>/fd";
    return nullptr;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || uint64_t(st.st_size) < d.block_size) {
    close(fd);
    *why = "the sender's block is smaller than its single-copy header says";
    return nullptr;
  }
  // MAP_POPULATE: the page tables are filled now, not by 256 faults per MiB in the copy.
  void* p = mmap(nullptr, d.block_size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    *why = "the sender's block could not be mapped (mmap)";
    return nullptr;
  }
  maps_made_.fetch_add(1, std::memory_order_relaxed);
  // One open file per descriptor number at a time: a cached block of this sender under the
  // same number was freed before the number was reused.
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->sender == d.sender && it->fd == d.fd) {
      munmap(it->base, it->size);
      bytes_ -= it->size;
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  entries_.push_front(Entry{d.sender, d.generation, d.fd, static_cast<unsigned char*>(p), size_t(d.block_size)});
  bytes_ += d.block_size;
  // Every mapping but the one just made may go: it pins pages the sender may have freed.
  while (entries_.size() > 1 && (bytes_ > max_bytes_ || entries_.size() > max_entries_)) {
    Entry& old = entries_.back();
    munmap(old.base, old.size);
    bytes_ -= old.size;
    entries_.pop_back();
  }
  return static_cast<unsigned char*>(p);
}

void MappingCache::clear() {
  for (Entry& e : entries_) munmap(e.base, e.size);
  entries_.clear();
  bytes_ = 0;
}

}  // namespace zc::transport::single_copy
