// Picks the transport implementation for --transport auto|ucx|verbs.
#include "transports/transport.h"

#include "transports/ucx/ucx_transport.h"
#include "transports/verbs/verbs_device.h"
#include "transports/verbs/verbs_transport.h"

namespace zc::transport {

std::unique_ptr<Transport> create(const std::string& name, const Options& options, std::string* err) {
  if (name == "ucx") return ucx::create(options, err);
  if (name == "verbs") return verbs::create(options, err);
  if (name == "auto" || name.empty()) {
    // An RDMA device with an active port means verbs (UCX 1.13 cannot run over Soft-RoCE at
    // all, and on real NICs zcmpi's own protocol is the one whose guards cover the NIC's
    // accesses); anything else means UCX (shared memory, TCP).
    std::string what;
    if (verbs::active_port_exists(options.rdma_device, &what)) return verbs::create(options, err);
    return ucx::create(options, err);
  }
  *err = "unknown transport '" + name + "': expected auto, ucx or verbs";
  return nullptr;
}

}  // namespace zc::transport
