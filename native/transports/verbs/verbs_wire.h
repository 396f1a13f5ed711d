// What travels between verbs ranks: the address blob published through the key-value
// exchange, and the header of every message sent into a peer's receive slots.
#pragma once

#include <cstdint>

namespace zc::transport::verbs {

constexpr uint32_t kAddressMagic = 0x7a637662;  // "zcvb"
constexpr uint32_t kAddressVersion = 1;

// Followed by qpn[nranks]: the queue pair this rank created for each rank (including itself).
struct AddressHeader {
  uint32_t magic;
  uint32_t version;
  uint8_t gid[16];
  uint16_t lid;
  uint8_t ethernet;
  uint8_t reserved0;
  uint32_t active_mtu;  // enum ibv_mtu
  uint32_t psn;         // first packet sequence number of every queue pair of this rank
  uint32_t nranks;
  uint32_t slots;       // receive slots per peer (the sender's initial credits)
  uint32_t slot_bytes;  // bytes per slot (header + eager payload)
  uint32_t rd_atomic;   // outstanding RDMA READs this rank's queue pairs accept / issue
  uint32_t probe_rkey;  // a word peers may RDMA WRITE to: the liveness probe's target
  uint64_t probe_addr;
  char host[64];        // for messages naming a peer
};

enum class MsgType : uint8_t {
  Eager = 1,   // payload follows the header
  Rts = 2,     // rendezvous: RtsBody follows; the receiver READs the data
  Fin = 3,     // rendezvous done: FinBody follows; the sender's buffer is free again
  Credit = 4,  // nothing follows: only the credits field matters
};

struct MsgHeader {
  uint8_t type;
  uint8_t reserved0[3];
  // Cumulative count of slots the sender of this message has re-posted for its receiver
  // (mod 2^32): the receiver of the message learns how many more it may send.
  uint32_t credits;
  uint64_t tag;
  uint32_t len;  // eager: payload bytes
  uint32_t reserved1;
};
static_assert(sizeof(MsgHeader) == 24, "wire header");

struct RtsBody {
  uint64_t addr;
  uint64_t len;
  uint64_t send_id;
  uint32_t rkey;
  uint32_t reserved;
};

struct FinBody {
  uint64_t send_id;
};

}  // namespace zc::transport::verbs
