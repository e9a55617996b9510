#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "jobsim/inventory.h"

namespace jobsim {

// Resolves a JOB `target_server` (or a file source's `server`) to hosts of the inventory:
// host_id_list (when present and non-empty, ip_list is ignored), ip_list, dynamic_group_list and
// topo_node_list, merged without duplicates in request order. Throws ApiError:
// 1244001 when nothing is named or the result is empty, 1244002 when a host or group is unknown
// or outside `scope`, 1241005 for a malformed field. `field` names the object in messages.
std::vector<Host> resolve_targets(const Inventory& inventory, const Scope& scope,
                                  const nlohmann::json& server, const std::string& field);

}  // namespace jobsim
