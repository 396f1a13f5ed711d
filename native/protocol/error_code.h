// Transport results as the error codes JavaScript sees (status_layout.h), for every
// protocol that completes requests (p2p, barrier, collective schedules).
#pragma once

#include <cstdint>

#include "protocol/status_layout.h"
#include "transports/transport.h"

namespace zc::protocol {

// canceled_by_peer_failure: the cancel came from the peer-failure fan-out
// (Engine::on_peer_failure), so the program sees ERR_PEER rather than ERR_CANCELED.
inline int32_t error_code(transport::Result r, bool canceled_by_peer_failure) {
  switch (r) {
    case transport::Result::Ok:
      return kErrNone;
    case transport::Result::Truncated:
      return kErrTruncate;
    case transport::Result::Canceled:
      return canceled_by_peer_failure ? kErrPeer : kErrCanceled;
    case transport::Result::PeerFailed:
      return kErrPeer;
    case transport::Result::Error:
      break;
  }
  return kErrTransport;
}

}  // namespace zc::protocol
