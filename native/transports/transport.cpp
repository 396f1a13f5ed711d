// Picks the transport implementation for --transport auto|ucx|verbs.
#include "transports/transport.h"

#include "transports/ucx/ucx_transport.h"

namespace zc::transport {

std::unique_ptr<Transport> create(const std::string& name, const Options& options, std::string* err) {
  // "auto" means UCX until the verbs transport exists: UCX already covers shared memory and
  // TCP between local ranks, and its own UCX_TLS variable selects among them.
  if (name == "auto" || name == "ucx" || name.empty()) return ucx::create(options, err);
  if (name == "verbs") {
    *err = "the verbs transport is not available yet in this version of zcmpi; "
           "use --transport ucx (or auto, which picks ucx)";
    return nullptr;
  }
  *err = "unknown transport '" + name + "': expected auto, ucx or verbs";
  return nullptr;
}

}  // namespace zc::transport
