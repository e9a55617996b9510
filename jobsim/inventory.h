#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace jobsim {

// A resource scope of JOB: bk_scope_type ("biz" or "biz_set") and bk_scope_id.
struct Scope {
  std::string type = "biz";
  std::string id = "1";
  bool operator==(const Scope& o) const { return type == o.type && id == o.id; }
  bool operator!=(const Scope& o) const { return !(*this == o); }
  bool operator<(const Scope& o) const { return type != o.type ? type < o.type : id < o.id; }
};

// A simulated host. The address is a label only: jobsim never connects to it.
struct Host {
  int64_t host_id = 0;
  std::string ip;
  int64_t cloud_id = 0;
  Scope scope;
  bool agent_abnormal = false;
  bool ipv6() const { return ip.find(':') != std::string::npos; }
};

// A named set of hosts: a dynamic group (string id) or a topology node (numeric id + type).
struct HostGroup {
  std::string id;
  std::string node_type;  // topo nodes only: "module", "set", ...
  Scope scope;
  std::vector<int64_t> host_ids;
};

// The hosts jobsim simulates, with their dynamic groups, topo nodes and business sets.
class Inventory {
 public:
  // Parses the inventory file format of jobsim/README.md. Throws std::runtime_error with a
  // message naming the problem.
  static Inventory from_json_text(const std::string& text);
  static Inventory from_file(const std::string& path);
  // `count` hosts with ids 101, 102, ... in scope biz 1, cloud 0: IPv4 addresses from the
  // documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24); every tenth host, and
  // every host beyond those ranges, gets an IPv6 address from 2001:db8::/32.
  static Inventory generate(int count);

  void add_host(const Host& host);  // throws on a duplicate id

  const Host* find(int64_t host_id) const;
  const Host* find_ip(int64_t cloud_id, const std::string& ip) const;
  const HostGroup* find_dynamic_group(const std::string& id) const;
  const HostGroup* find_topo_node(int64_t id, const std::string& node_type) const;
  // Whether a host belongs to `scope`: same business, or a business of a business set.
  bool in_scope(const Host& host, const Scope& scope) const { return includes(scope, host.scope); }
  // Whether `request` (biz or biz_set) covers things owned by `owner`.
  bool includes(const Scope& request, const Scope& owner) const;

  const std::vector<Host>& hosts() const { return hosts_; }
  const std::vector<HostGroup>& dynamic_groups() const { return dynamic_groups_; }
  const std::vector<HostGroup>& topo_nodes() const { return topo_nodes_; }

 private:
  std::vector<Host> hosts_;
  std::map<int64_t, size_t> by_id_;
  std::map<std::pair<int64_t, std::string>, size_t> by_ip_;
  std::vector<HostGroup> dynamic_groups_;
  std::vector<HostGroup> topo_nodes_;
  std::map<std::string, std::vector<std::string>> biz_sets_;  // biz_set id -> biz ids
};

}  // namespace jobsim
