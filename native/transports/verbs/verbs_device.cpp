#include "transports/verbs/verbs_device.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace zc::transport::verbs {

namespace {

struct Spec {
  std::string name;  // empty: any
  int port = 0;      // 0: any
};

bool parse_spec(const std::string& s, Spec* out, std::string* err) {
  out->name.clear();
  out->port = 0;
  if (s.empty()) return true;
  const size_t colon = s.rfind(':');
  out->name = s.substr(0, colon);
  if (colon != std::string::npos) {
    const std::string p = s.substr(colon + 1);
    char* end = nullptr;
    long v = std::strtol(p.c_str(), &end, 10);
    if (p.empty() || *end != 0 || v < 1 || v > 255) {
      *err = "--rdma-device / ZCMPI_RDMA_DEVICE must be NAME or NAME:PORT with PORT a number from 1 (got '" + s + "')";
      return false;
    }
    out->port = int(v);
  }
  if (out->name.empty()) {
    *err = "--rdma-device / ZCMPI_RDMA_DEVICE must be NAME or NAME:PORT (got '" + s + "')";
    return false;
  }
  return true;
}

const char* state_name(ibv_port_state s) { return ibv_port_state_str(s); }

bool ipv4_mapped(const ibv_gid& g) {
  static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(g.raw, prefix, sizeof(prefix)) == 0;
}

bool gid_zero(const ibv_gid& g) {
  for (uint8_t b : g.raw)
    if (b) return false;
  return true;
}

// Picks the GID index on an Ethernet port: RoCE v2 + IPv4-mapped, else RoCE v2, else any.
bool choose_gid(ibv_context* ctx, uint8_t port, int table_len, int* index, ibv_gid* gid, std::string* err) {
  int v2 = -1, any = -1, mapped = -1;
  ibv_gid v2_gid{}, any_gid{}, mapped_gid{};
  for (int i = 0; i < table_len; i++) {
    ibv_gid_entry e;
    if (ibv_query_gid_ex(ctx, port, uint32_t(i), &e, 0) != 0) continue;
    if (gid_zero(e.gid)) continue;
    if (any < 0) { any = i; any_gid = e.gid; }
    if (e.gid_type != IBV_GID_TYPE_ROCE_V2) continue;
    if (v2 < 0) { v2 = i; v2_gid = e.gid; }
    if (mapped < 0 && ipv4_mapped(e.gid)) { mapped = i; mapped_gid = e.gid; }
  }
  if (mapped >= 0) { *index = mapped; *gid = mapped_gid; return true; }
  if (v2 >= 0) { *index = v2; *gid = v2_gid; return true; }
  if (any >= 0) { *index = any; *gid = any_gid; return true; }
  *err = "the port has no usable GID (give its network interface an IPv4 address, or set ZCMPI_RDMA_GID)";
  return false;
}

std::string list_devices(ibv_device** list, int n) {
  if (n == 0) return "none";
  std::string s;
  for (int i = 0; i < n; i++) {
    if (i) s += ", ";
    s += ibv_get_device_name(list[i]);
  }
  return s;
}

// Finds the port to use on an open device; 0 if none is active (why in *why).
uint8_t active_port(ibv_context* ctx, const ibv_device_attr& attr, int wanted, std::string* why) {
  for (int p = 1; p <= attr.phys_port_cnt; p++) {
    if (wanted && p != wanted) continue;
    ibv_port_attr pa;
    if (ibv_query_port(ctx, uint8_t(p), &pa) != 0) continue;
    if (pa.state == IBV_PORT_ACTIVE) return uint8_t(p);
    *why += std::string(ibv_get_device_name(ctx->device)) + ":" + std::to_string(p) + " is " + state_name(pa.state) + "; ";
  }
  if (wanted && wanted > attr.phys_port_cnt)
    *why += std::string(ibv_get_device_name(ctx->device)) + " has " + std::to_string(attr.phys_port_cnt) + " port(s); ";
  return 0;
}

}  // namespace

bool open_device(const std::string& device_spec, const std::string& gid_override, ibv_context** ctx_out,
                 DeviceChoice* out, std::string* err) {
  *ctx_out = nullptr;
  Spec spec;
  if (!parse_spec(device_spec, &spec, err)) return false;
  int n = 0;
  ibv_device** list = ibv_get_device_list(&n);
  if (!list) {
    *err = std::string("no RDMA device: ibv_get_device_list failed (") + std::strerror(errno) +
           "); looked for an RDMA device with an active port (/sys/class/infiniband)";
    return false;
  }
  std::string why;
  bool named_found = false;
  for (int i = 0; i < n && !*ctx_out; i++) {
    const char* name = ibv_get_device_name(list[i]);
    if (!spec.name.empty() && spec.name != name) continue;
    named_found = true;
    ibv_context* ctx = ibv_open_device(list[i]);
    if (!ctx) {
      why += std::string(name) + ": cannot be opened (" + std::strerror(errno) + "); ";
      continue;
    }
    ibv_device_attr attr;
    if (ibv_query_device(ctx, &attr) != 0) {
      why += std::string(name) + ": cannot be queried; ";
      ibv_close_device(ctx);
      continue;
    }
    uint8_t port = active_port(ctx, attr, spec.port, &why);
    if (!port) {
      ibv_close_device(ctx);
      continue;
    }
    ibv_port_attr pa;
    ibv_query_port(ctx, port, &pa);
    out->name = name;
    out->port = port;
    out->attr = attr;
    out->lid = pa.lid;
    out->active_mtu = pa.active_mtu;
    out->ethernet = pa.link_layer == IBV_LINK_LAYER_ETHERNET;
    if (!gid_override.empty()) {
      char* end = nullptr;
      long v = std::strtol(gid_override.c_str(), &end, 10);
      if (*end != 0 || v < 0 || v >= pa.gid_tbl_len) {
        *err = "ZCMPI_RDMA_GID must be a GID index from 0 to " + std::to_string(pa.gid_tbl_len - 1) + " of " +
               out->name + ":" + std::to_string(port) + " (got '" + gid_override + "')";
        ibv_close_device(ctx);
        ibv_free_device_list(list);
        return false;
      }
      out->gid_index = int(v);
      if (ibv_query_gid(ctx, port, int(v), &out->gid) != 0 || gid_zero(out->gid)) {
        *err = "ZCMPI_RDMA_GID=" + gid_override + ": that GID entry of " + out->name + " is empty";
        ibv_close_device(ctx);
        ibv_free_device_list(list);
        return false;
      }
    } else if (out->ethernet) {
      std::string gerr;
      if (!choose_gid(ctx, port, pa.gid_tbl_len, &out->gid_index, &out->gid, &gerr)) {
        *err = out->name + ":" + std::to_string(port) + ": " + gerr;
        ibv_close_device(ctx);
        ibv_free_device_list(list);
        return false;
      }
    } else {
      out->gid_index = 0;
      ibv_query_gid(ctx, port, 0, &out->gid);
    }
    *ctx_out = ctx;
  }
  const std::string devices = list_devices(list, n);
  ibv_free_device_list(list);
  if (*ctx_out) return true;
  if (!spec.name.empty() && !named_found) {
    *err = "no RDMA device named '" + spec.name + "' (--rdma-device / ZCMPI_RDMA_DEVICE); RDMA devices here: " + devices;
  } else {
    *err = "no RDMA device with an active port (looked for " +
           (spec.name.empty() ? std::string("any device in /sys/class/infiniband") : "'" + device_spec + "'") +
           "; devices here: " + devices + (why.empty() ? "" : "; " + why.substr(0, why.size() - 2)) + ")";
  }
  return false;
}

bool active_port_exists(const std::string& device_spec, std::string* what) {
  ibv_context* ctx = nullptr;
  DeviceChoice c;
  if (!open_device(device_spec, "", &ctx, &c, what)) return false;
  ibv_close_device(ctx);
  *what = c.name + ":" + std::to_string(c.port);
  return true;
}

}  // namespace zc::transport::verbs
