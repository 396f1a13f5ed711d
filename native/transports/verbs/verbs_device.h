// Finding the RDMA device, port and GID the verbs transport runs on.
//
// --rdma-device NAME[:PORT] (ZCMPI_RDMA_DEVICE) names one; otherwise the first device with
// an active port. On Ethernet (RoCE) the GID is the RoCE v2 entry whose address is
// IPv4-mapped (::ffff:a.b.c.d): on Soft-RoCE GID[0] is the link-local RoCE v1/v2 entry,
// which only works where IPv6 link-local routing does. ZCMPI_RDMA_GID=INDEX overrides.
#pragma once

#include <infiniband/verbs.h>

#include <cstdint>
#include <string>

namespace zc::transport::verbs {

struct DeviceChoice {
  std::string name;
  uint8_t port = 1;
  int gid_index = 0;
  ibv_gid gid{};
  uint16_t lid = 0;
  ibv_mtu active_mtu = IBV_MTU_1024;
  bool ethernet = false;  // RoCE: address by GID; InfiniBand: by LID
  ibv_device_attr attr{};
};

// Opens the device (a null *ctx and a message naming what was looked for on failure).
bool open_device(const std::string& device_spec, const std::string& gid_override, ibv_context** ctx,
                 DeviceChoice* out, std::string* err);

// For --transport auto: true if some RDMA device has an active port. *what says what was
// found (for messages).
bool active_port_exists(const std::string& device_spec, std::string* what);

}  // namespace zc::transport::verbs
