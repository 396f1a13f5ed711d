// The user-tag field of collective traffic (context = communicator id * 2 + 1, see tag.h).
//
//   bit 31       1 (tags with bit 31 clear belong to the native barrier of finalize, barrier.cpp)
//   bits 30..29  phase: 0 data, 1 argument check, 2 outcome agreement (schedule.cpp)
//   bits 28..12  the collective's sequence number on its communicator (17 bits, wrapping)
//   bits 11..0   round of the check and agreement exchanges (12 bits); 0 for data messages,
//                which match in the order sent between two ranks (schedule.cpp)
//
// Every rank calls a communicator's collectives in the same order (MPI's rule), so the
// sequence number names one collective on every rank: collectives in flight at once on one
// communicator, or on several, never consume each other's messages. Wrapping is safe because
// messages with equal tags from one sender match in the order they were sent, and a schedule
// never runs more than 2^12 rounds or 2^17 collectives ahead of a peer it is waiting for.
#pragma once

#include <cstdint>

namespace zc::protocol::coll {

enum Phase : uint32_t { kPhaseData = 0, kPhaseCheck = 1, kPhaseAgree = 2 };

constexpr uint32_t coll_user_tag(Phase phase, uint32_t seq, uint32_t round) {
  return 0x80000000u | (uint32_t(phase) << 29) | ((seq & 0x1ffffu) << 12) | (round & 0xfffu);
}

static_assert(coll_user_tag(kPhaseAgree, 0x1ffff, 0xfff) == 0xdfffffffu, "fields fit");

}  // namespace zc::protocol::coll
