// Point-to-point messaging, split by concern:
//   p2p_post.cpp   isend/irecv: ordering against overlapping requests, which path a
//                  message takes (immediate, copied, zero-copy), posting to the transport;
//   p2p_copy.cpp   the copy policy: sends whose bytes are copied instead of lent out;
//   p2p_phase.cpp  the per-request phase protocol: who installs the guard and who finishes
//                  the request when posting and completion race; finishing (bounce copy,
//                  guard release, status).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/engine.h"

namespace zc::protocol::p2p {

// The transport's completion callback for sends and receives (any thread).
void on_complete(transport::Op* op, const transport::Completion& c);
// Finishes a request: bytes into place, ranges and guard released, status published.
// immediate: on the posting thread during the post (no completion-list entry needed).
void finish(Request* r, const transport::Completion& c, bool immediate);

// Small sends the transport may complete inside the call. Plain memory is staged in a
// per-thread buffer first, so the transport never reads program memory under its lock.
// True (and the request finished) if the transport took it at once.
// *staged: where the plain bytes were staged (reuse it for a copied send).
bool try_immediate_send(Engine* e, Request* r, uint64_t wire_tag, const void* buf, const void* device, size_t len,
                        const void** staged);
// Whether a send that did not complete at once is copied rather than zero-copy.
bool send_is_copied(const EngineConfig& config, const void* device, size_t len);
// Copies the bytes and posts the copy; the program's request completes now.
PostResult post_copied_send(Engine* e, Request* r, uint64_t wire_tag, const void* buf, size_t len, std::string* err);

}  // namespace zc::protocol::p2p
