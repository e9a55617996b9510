#include "jobsim/inventory.h"

#include <boost/asio/ip/address.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace jobsim {

using nlohmann::json;

namespace {

std::string id_string(const json& v, const std::string& what) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  throw std::runtime_error(what + " must be a string or an integer");
}

int64_t get_int(const json& obj, const char* key, const std::string& what) {
  auto it = obj.find(key);
  if (it == obj.end()) throw std::runtime_error(what + ": missing \"" + key + "\"");
  if (!it->is_number_integer())
    throw std::runtime_error(what + ": \"" + key + "\" must be an integer");
  return it->get<int64_t>();
}

Scope read_scope(const json& obj, const std::string& what) {
  Scope s;
  if (obj.contains("scope_type")) {
    if (!obj["scope_type"].is_string())
      throw std::runtime_error(what + ": scope_type must be a string");
    s.type = obj["scope_type"].get<std::string>();
  }
  if (obj.contains("scope_id")) s.id = id_string(obj["scope_id"], what + ": scope_id");
  if (obj.contains("bk_biz_id")) {
    s.type = "biz";
    s.id = id_string(obj["bk_biz_id"], what + ": bk_biz_id");
  }
  if (s.type != "biz" && s.type != "biz_set") {
    throw std::runtime_error(what + ": scope_type must be \"biz\" or \"biz_set\"");
  }
  return s;
}

std::vector<int64_t> read_host_ids(const json& obj, const std::string& what) {
  std::vector<int64_t> ids;
  auto it = obj.find("host_ids");
  if (it == obj.end()) return ids;
  if (!it->is_array()) throw std::runtime_error(what + ": host_ids must be an array");
  for (auto& v : *it) {
    if (!v.is_number_integer()) throw std::runtime_error(what + ": host_ids must hold integers");
    ids.push_back(v.get<int64_t>());
  }
  return ids;
}

}  // namespace

Inventory Inventory::from_json_text(const std::string& text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    throw std::runtime_error(std::string("inventory is not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) throw std::runtime_error("inventory must be a JSON object");
  Inventory inv;
  if (!doc.contains("hosts") || !doc["hosts"].is_array()) {
    throw std::runtime_error("inventory needs a \"hosts\" array");
  }
  size_t n = 0;
  for (auto& h : doc["hosts"]) {
    std::string what = "hosts[" + std::to_string(n++) + "]";
    if (!h.is_object()) throw std::runtime_error(what + " must be an object");
    Host host;
    host.host_id = get_int(h, "host_id", what);
    if (host.host_id <= 0) throw std::runtime_error(what + ": host_id must be positive");
    if (!h.contains("ip") || !h["ip"].is_string())
      throw std::runtime_error(what + ": missing \"ip\"");
    host.ip = h["ip"].get<std::string>();
    boost::system::error_code ec;
    auto addr = boost::asio::ip::make_address(host.ip, ec);
    if (ec) throw std::runtime_error(what + ": \"" + host.ip + "\" is not an IP address");
    host.ip = addr.to_string();  // canonical form (IPv6 compressed)
    if (h.contains("cloud_id")) host.cloud_id = get_int(h, "cloud_id", what);
    if (h.contains("bk_cloud_id")) host.cloud_id = get_int(h, "bk_cloud_id", what);
    host.scope = read_scope(h, what);
    if (host.scope.type != "biz") throw std::runtime_error(what + ": a host belongs to a biz");
    if (h.contains("agent")) {
      if (!h["agent"].is_string()) throw std::runtime_error(what + ": agent must be a string");
      std::string agent = h["agent"].get<std::string>();
      if (agent == "abnormal") {
        host.agent_abnormal = true;
      } else if (agent != "normal") {
        throw std::runtime_error(what + ": agent must be \"normal\" or \"abnormal\"");
      }
    }
    inv.add_host(host);
  }
  if (doc.contains("biz_sets")) {
    if (!doc["biz_sets"].is_array()) throw std::runtime_error("biz_sets must be an array");
    for (auto& bs : doc["biz_sets"]) {
      if (!bs.is_object() || !bs.contains("id"))
        throw std::runtime_error("biz_sets entries need an id");
      std::string id = id_string(bs["id"], "biz_sets id");
      std::vector<std::string> bizs;
      if (bs.contains("biz_ids")) {
        if (!bs["biz_ids"].is_array())
          throw std::runtime_error("biz_sets biz_ids must be an array");
        for (auto& b : bs["biz_ids"]) bizs.push_back(id_string(b, "biz_sets biz_ids"));
      }
      inv.biz_sets_[id] = bizs;
    }
  }
  auto read_groups = [&](const char* key, bool topo) {
    if (!doc.contains(key)) return;
    if (!doc[key].is_array()) throw std::runtime_error(std::string(key) + " must be an array");
    size_t i = 0;
    for (auto& g : doc[key]) {
      std::string what = std::string(key) + "[" + std::to_string(i++) + "]";
      if (!g.is_object() || !g.contains("id")) throw std::runtime_error(what + ": missing \"id\"");
      HostGroup group;
      if (topo) {
        group.id = std::to_string(get_int(g, "id", what));
        if (!g.contains("node_type") || !g["node_type"].is_string()) {
          throw std::runtime_error(what + ": missing \"node_type\"");
        }
        group.node_type = g["node_type"].get<std::string>();
      } else {
        group.id = id_string(g["id"], what + ": id");
      }
      group.scope = read_scope(g, what);
      group.host_ids = read_host_ids(g, what);
      for (int64_t id : group.host_ids) {
        if (!inv.find(id))
          throw std::runtime_error(what + ": unknown host_id " + std::to_string(id));
      }
      (topo ? inv.topo_nodes_ : inv.dynamic_groups_).push_back(group);
    }
  };
  read_groups("dynamic_groups", false);
  read_groups("topo_nodes", true);
  return inv;
}

Inventory Inventory::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read inventory file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return from_json_text(ss.str());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

Inventory Inventory::generate(int count) {
  Inventory inv;
  static const char* v4_ranges[] = {"192.0.2.", "198.51.100.", "203.0.113."};
  int v4_used = 0;
  int v6_used = 0;
  for (int i = 0; i < count; ++i) {
    Host h;
    h.host_id = 101 + i;
    h.cloud_id = 0;
    bool v6 = (i % 10 == 9) || v4_used >= 3 * 254;
    if (v6) {
      ++v6_used;
      char buf[64];
      std::snprintf(buf, sizeof buf, "2001:db8::%x:%x", (v6_used >> 16) & 0xffff, v6_used & 0xffff);
      h.ip = boost::asio::ip::make_address(buf).to_string();
    } else {
      h.ip = std::string(v4_ranges[v4_used / 254]) + std::to_string(v4_used % 254 + 1);
      ++v4_used;
    }
    inv.add_host(h);
  }
  return inv;
}

void Inventory::add_host(const Host& host) {
  if (by_id_.count(host.host_id)) {
    throw std::runtime_error("duplicate host_id " + std::to_string(host.host_id));
  }
  by_id_[host.host_id] = hosts_.size();
  by_ip_.emplace(std::make_pair(host.cloud_id, host.ip), hosts_.size());
  hosts_.push_back(host);
}

const Host* Inventory::find(int64_t host_id) const {
  auto it = by_id_.find(host_id);
  return it == by_id_.end() ? nullptr : &hosts_[it->second];
}

const Host* Inventory::find_ip(int64_t cloud_id, const std::string& ip) const {
  std::string key = ip;
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(ip, ec);
  if (!ec) key = addr.to_string();
  auto it = by_ip_.find({cloud_id, key});
  return it == by_ip_.end() ? nullptr : &hosts_[it->second];
}

const HostGroup* Inventory::find_dynamic_group(const std::string& id) const {
  for (auto& g : dynamic_groups_) {
    if (g.id == id) return &g;
  }
  return nullptr;
}

const HostGroup* Inventory::find_topo_node(int64_t id, const std::string& node_type) const {
  std::string sid = std::to_string(id);
  for (auto& g : topo_nodes_) {
    if (g.id == sid && (node_type.empty() || g.node_type == node_type)) return &g;
  }
  return nullptr;
}

bool Inventory::includes(const Scope& request, const Scope& owner) const {
  if (request == owner) return true;
  if (request.type == "biz_set" && owner.type == "biz") {
    auto it = biz_sets_.find(request.id);
    if (it == biz_sets_.end()) return false;
    for (auto& biz : it->second) {
      if (owner.id == biz) return true;
    }
  }
  return false;
}

}  // namespace jobsim
