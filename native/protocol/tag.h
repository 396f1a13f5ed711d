// The 64-bit tag every zcmpi message carries on the wire.
//
//   bits 63..56  context    (0 = point-to-point, 1 = barrier and collectives)
//   bits 55..32  source     (the sender's rank; 24 bits, so up to 16M ranks)
//   bits 31..0   user tag   (0 .. 2^31-1 from the API; collectives use all 32 bits)
//
// The transport matches (tag & mask) == (posted & mask); clearing a field in the mask is how
// ANY_SOURCE and ANY_TAG work, and the context byte is always matched so point-to-point
// traffic can never be consumed by a barrier and vice versa.
#pragma once

#include <cstdint>

namespace zc::protocol {

constexpr uint64_t kContextShift = 56;
constexpr uint64_t kSourceShift = 32;
constexpr uint64_t kContextMask = 0xffull << kContextShift;
constexpr uint64_t kSourceMask = 0xffffffull << kSourceShift;
constexpr uint64_t kUserTagMask = 0xffffffffull;
constexpr uint64_t kFullMask = ~0ull;

constexpr uint8_t kContextP2P = 0;
constexpr uint8_t kContextCollective = 1;

// Wildcards as the API spells them (runtime/index.ts exports the same values).
constexpr int32_t kAnySource = -1;
constexpr int64_t kAnyTag = -1;

constexpr int32_t kMaxRanks = 1 << 24;
constexpr int64_t kMaxUserTag = (1ll << 31) - 1;

constexpr uint64_t make_tag(uint8_t context, uint32_t source, uint32_t user_tag) {
  return (uint64_t(context) << kContextShift) | (uint64_t(source & 0xffffffu) << kSourceShift) |
         uint64_t(user_tag);
}

// The mask a receive posts with: wildcards clear their field.
constexpr uint64_t make_mask(bool any_source, bool any_tag) {
  return kFullMask & ~(any_source ? kSourceMask : 0) & ~(any_tag ? kUserTagMask : 0);
}

constexpr uint8_t tag_context(uint64_t tag) { return uint8_t(tag >> kContextShift); }
constexpr uint32_t tag_source(uint64_t tag) { return uint32_t((tag & kSourceMask) >> kSourceShift); }
constexpr uint32_t tag_user(uint64_t tag) { return uint32_t(tag & kUserTagMask); }

static_assert(tag_source(make_tag(1, 0xabcdef, 7)) == 0xabcdef, "source field");
static_assert(tag_context(make_tag(1, 0xabcdef, 7)) == 1, "context field");
static_assert(tag_user(make_tag(1, 0xabcdef, 0x7fffffff)) == 0x7fffffff, "user field");
static_assert((make_mask(true, false) & kSourceMask) == 0, "ANY_SOURCE clears source");

}  // namespace zc::protocol
