#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace jobgw::server {

// Percent-decoding of a URL part or a form body; '+' is a space in query components and
// application/x-www-form-urlencoded bodies (`plus_is_space`), not in paths. Nothing on a bad
// escape (a '%' without two hex digits).
std::optional<std::string> url_decode(std::string_view in, bool plus_is_space);

}  // namespace jobgw::server
