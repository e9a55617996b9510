#pragma once

#include <cstddef>
#include <string_view>

namespace jobgw::core {

// Length of the longest prefix of `bytes` that does not end inside a multi-byte UTF-8 sequence:
// a log read mid-character holds the character's first bytes back until the next read brings the
// rest. Only a trailing sequence that could still become valid is held back; invalid bytes count
// as complete single bytes, so a log that is not UTF-8 never stalls.
std::size_t complete_utf8_prefix(std::string_view bytes);

}  // namespace jobgw::core
