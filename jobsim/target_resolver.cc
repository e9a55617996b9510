#include "jobsim/target_resolver.h"

#include <set>

#include "jobsim/api_error.h"

namespace jobsim {

using nlohmann::json;

namespace {

int64_t as_int(const json& v, const std::string& what) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    try {
      size_t used = 0;
      int64_t n = std::stoll(s, &used);
      if (used == s.size()) return n;
    } catch (const std::exception&) {
    }
  }
  throw illegal_param(what, "must be an integer");
}

const json* array_field(const json& server, const char* key, const std::string& field) {
  auto it = server.find(key);
  if (it == server.end() || it->is_null()) return nullptr;
  if (!it->is_array()) throw illegal_param(field + "." + key, "must be an array");
  return &*it;
}

}  // namespace

std::vector<Host> resolve_targets(const Inventory& inventory, const Scope& scope,
                                  const json& server, const std::string& field) {
  if (server.is_null()) throw ApiError(code::kHostListEmpty, "Host list is empty: " + field);
  if (!server.is_object()) throw illegal_param(field, "must be an object");
  const json* host_ids = array_field(server, "host_id_list", field);
  const json* ips = array_field(server, "ip_list", field);
  const json* groups = array_field(server, "dynamic_group_list", field);
  const json* nodes = array_field(server, "topo_node_list", field);
  if (host_ids && host_ids->empty()) host_ids = nullptr;
  if (host_ids) ips = nullptr;  // deprecated ip_list is ignored when host ids are given
  bool named = (host_ids || (ips && !ips->empty()) || (groups && !groups->empty()) ||
                (nodes && !nodes->empty()));
  if (!named) throw ApiError(code::kHostListEmpty, "Host list is empty: " + field);

  std::vector<Host> out;
  std::set<int64_t> seen;
  std::vector<std::string> invalid;
  auto take = [&](const Host& h) {
    if (!inventory.in_scope(h, scope)) {
      invalid.push_back("host " + std::to_string(h.host_id) + " (" + h.ip + ") is not in " +
                        scope.type + " " + scope.id);
      return;
    }
    if (seen.insert(h.host_id).second) out.push_back(h);
  };
  if (host_ids) {
    for (auto& v : *host_ids) {
      int64_t id = as_int(v, field + ".host_id_list");
      const Host* h = inventory.find(id);
      if (!h) {
        invalid.push_back("host_id " + std::to_string(id) + " does not exist");
      } else {
        take(*h);
      }
    }
  }
  if (ips) {
    for (auto& v : *ips) {
      if (!v.is_object() || !v.contains("ip") || !v["ip"].is_string()) {
        throw illegal_param(field + ".ip_list", "each entry needs an \"ip\" string");
      }
      int64_t cloud =
          v.contains("bk_cloud_id") ? as_int(v["bk_cloud_id"], field + ".ip_list.bk_cloud_id") : 0;
      std::string ip = v["ip"].get<std::string>();
      const Host* h = inventory.find_ip(cloud, ip);
      if (!h) {
        invalid.push_back(std::to_string(cloud) + ":" + ip + " does not exist");
      } else {
        take(*h);
      }
    }
  }
  auto take_group = [&](const HostGroup* g, const std::string& label) {
    if (!g) {
      invalid.push_back(label + " does not exist");
      return;
    }
    if (!inventory.includes(scope, g->scope)) {
      invalid.push_back(label + " is not in " + scope.type + " " + scope.id);
      return;
    }
    for (int64_t id : g->host_ids) {
      if (const Host* h = inventory.find(id)) take(*h);
    }
  };
  if (groups) {
    for (auto& v : *groups) {
      if (!v.is_object() || !v.contains("id")) {
        throw illegal_param(field + ".dynamic_group_list", "each entry needs an \"id\"");
      }
      std::string id = v["id"].is_string()
                           ? v["id"].get<std::string>()
                           : std::to_string(as_int(v["id"], field + ".dynamic_group_list.id"));
      take_group(inventory.find_dynamic_group(id), "dynamic group " + id);
    }
  }
  if (nodes) {
    for (auto& v : *nodes) {
      if (!v.is_object() || !v.contains("id")) {
        throw illegal_param(field + ".topo_node_list", "each entry needs an \"id\"");
      }
      int64_t id = as_int(v["id"], field + ".topo_node_list.id");
      std::string type;
      if (v.contains("node_type")) {
        if (!v["node_type"].is_string())
          throw illegal_param(field + ".topo_node_list.node_type", "must be a string");
        type = v["node_type"].get<std::string>();
      }
      take_group(inventory.find_topo_node(id, type),
                 "topo node " + (type.empty() ? "" : type + " ") + std::to_string(id));
    }
  }
  if (!invalid.empty()) {
    std::string msg = "Hosts invalid: ";
    for (size_t i = 0; i < invalid.size() && i < 10; ++i) msg += (i ? "; " : "") + invalid[i];
    if (invalid.size() > 10) msg += "; ... (" + std::to_string(invalid.size()) + " in all)";
    throw ApiError(code::kHostsInvalid, msg);
  }
  if (out.empty())
    throw ApiError(code::kHostListEmpty, "Host list is empty: " + field + " names no host");
  return out;
}

}  // namespace jobsim
