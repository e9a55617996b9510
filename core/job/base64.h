#pragma once

#include <string>
#include <string_view>

namespace jobgw::core {

// Standard Base64 with padding, as JOB expects for script_content and script_param.
std::string base64_encode(std::string_view data);

}  // namespace jobgw::core
