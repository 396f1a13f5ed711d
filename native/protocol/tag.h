// The 64-bit tag every zcmpi message carries on the wire.
//
//   bits 63..52  context    (12 bits: communicator id * 2 + 0 point-to-point, + 1 collectives;
//                            the world communicator is id 0, so 0 = its p2p, 1 = its collectives)
//   bit  51      the transport's own (never set by the protocol, ignored by every receive the
//                protocol posts: the UCX transport marks a same-host single-copy message's
//                header with it, see transports/single_copy.h)
//   bits 50..32  source     (the sender's rank in that communicator; 19 bits, up to 512K ranks)
//   bits 31..0   user tag   (0 .. 2^31-1 from the API; collectives use all 32 bits, see
//                            protocol/collectives/coll_tag.h)
//
// The transport matches (tag & mask) == (posted & mask); clearing a field in the mask is how
// ANY_SOURCE and ANY_TAG work, and the context field is always matched so point-to-point
// traffic can never be consumed by a collective, and no communicator's traffic by another's.
// 12 context bits give 2048 communicators alive at once (ids are reused after free()).
#pragma once

#include <cstdint>

namespace zc::protocol {

constexpr uint64_t kContextShift = 52;
constexpr uint64_t kSourceShift = 32;
constexpr uint64_t kContextMask = 0xfffull << kContextShift;
constexpr uint64_t kSourceMask = 0x7ffffull << kSourceShift;
constexpr uint64_t kTransportBit = 1ull << 51;
constexpr uint64_t kUserTagMask = 0xffffffffull;
constexpr uint64_t kFullMask = ~0ull;

constexpr uint16_t kContextP2P = 0;
constexpr uint16_t kContextCollective = 1;
constexpr uint32_t kMaxCommunicators = 2048;  // 12 context bits / 2 contexts each

constexpr uint16_t p2p_context(uint32_t comm_id) { return uint16_t(comm_id * 2); }
constexpr uint16_t collective_context(uint32_t comm_id) { return uint16_t(comm_id * 2 + 1); }

// Wildcards as the API spells them (runtime/index.ts exports the same values).
constexpr int32_t kAnySource = -1;
constexpr int64_t kAnyTag = -1;

constexpr int32_t kMaxRanks = 1 << 19;
constexpr int64_t kMaxUserTag = (1ll << 31) - 1;

constexpr uint64_t make_tag(uint16_t context, uint32_t source, uint32_t user_tag) {
  return (uint64_t(context & 0xfffu) << kContextShift) | (uint64_t(source & 0x7ffffu) << kSourceShift) |
         uint64_t(user_tag);
}

// The mask a receive posts with: wildcards clear their field.
constexpr uint64_t make_mask(bool any_source, bool any_tag) {
  return kFullMask & ~(any_source ? kSourceMask : 0) & ~(any_tag ? kUserTagMask : 0);
}

constexpr uint16_t tag_context(uint64_t tag) { return uint16_t(tag >> kContextShift); }
constexpr uint32_t tag_source(uint64_t tag) { return uint32_t((tag & kSourceMask) >> kSourceShift); }
constexpr uint32_t tag_user(uint64_t tag) { return uint32_t(tag & kUserTagMask); }

static_assert(tag_source(make_tag(1, 0x7abcd, 7)) == 0x7abcd, "source field");
static_assert((make_tag(0xfff, 0xfffff, 0xffffffff) & kTransportBit) == 0, "the protocol never sets the transport's bit");
static_assert(tag_context(make_tag(0xabc, 0x7abcd, 7)) == 0xabc, "context field");
static_assert(tag_user(make_tag(1, 0x7abcd, 0x7fffffff)) == 0x7fffffff, "user field");
static_assert((make_mask(true, false) & kSourceMask) == 0, "ANY_SOURCE clears source");
static_assert(collective_context(kMaxCommunicators - 1) == 0xfff, "every communicator id fits");

}  // namespace zc::protocol
