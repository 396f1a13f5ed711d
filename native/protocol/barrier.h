// The native barrier: a dissemination barrier (ceil(log2 size) rounds; in round k each rank
// sends a 0-byte message to rank+2^k and receives one from rank-2^k) in the collective
// context, driven entirely by completion callbacks so it finishes even while the
// JavaScript thread is busy or frozen in a guard fault.
#pragma once

namespace zc::protocol {

class Engine;

// Fails every barrier in progress (a peer died); runs under the transport's lock.
void barrier_fail_all(Engine* e, int rank, const char* why);

}  // namespace zc::protocol
