#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace jobgw::core {

// The resource scope every JOB call names: `biz` (business) or `biz_set`.
struct Scope {
  std::string type = "biz";
  std::string id;
};

// A host as JOB names it: by host id (preferred) or by {cloud id, ip}.
struct Host {
  std::int64_t host_id = 0;
  std::int64_t cloud_id = 0;
  std::string ip;
};

// A node of the CMDB topology (`module`, `set`, ...).
struct TopoNode {
  std::int64_t id = 0;
  std::string node_type;
};

// Where a script runs or a file goes; JOB's `target_server`.
struct Targets {
  std::vector<std::int64_t> host_ids;
  std::vector<Host> hosts;
  std::vector<std::string> dynamic_group_ids;
  std::vector<TopoNode> topo_nodes;

  bool empty() const {
    return host_ids.empty() && hosts.empty() && dynamic_group_ids.empty() && topo_nodes.empty();
  }
};

bool operator==(const Host& a, const Host& b);
inline bool operator!=(const Host& a, const Host& b) { return !(a == b); }

// "host_id=101" or "0:192.0.2.1", for messages and logs.
std::string describe(const Host& host);

enum class IpFamily { kInvalid, kV4, kV6 };
IpFamily ip_family(const std::string& ip);

}  // namespace jobgw::core
