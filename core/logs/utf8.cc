#include "core/logs/utf8.h"

namespace jobgw::core {
namespace {

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Bytes of the sequence a lead byte starts; 0 for a byte that starts none (ASCII counts as 1).
std::size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Whether `second` may follow `lead`: the leads that would otherwise admit overlong forms,
// surrogates or code points past U+10FFFF narrow the range of the byte after them.
bool valid_second(unsigned char lead, unsigned char second) {
  switch (lead) {
    case 0xE0:
      return second >= 0xA0 && second <= 0xBF;
    case 0xED:
      return second >= 0x80 && second <= 0x9F;
    case 0xF0:
      return second >= 0x90 && second <= 0xBF;
    case 0xF4:
      return second >= 0x80 && second <= 0x8F;
    default:
      return is_continuation(second);
  }
}

}  // namespace

std::size_t complete_utf8_prefix(std::string_view bytes) {
  const std::size_t size = bytes.size();
  // An unfinished sequence is at most 3 bytes long: its lead is among the last 3 bytes.
  const std::size_t lowest = size >= 3 ? size - 3 : 0;
  for (std::size_t i = size; i > lowest; --i) {
    const auto lead = static_cast<unsigned char>(bytes[i - 1]);
    if (is_continuation(lead)) continue;
    const std::size_t need = sequence_length(lead);
    const std::size_t have = size - (i - 1);
    if (need <= have) return size;
    // A lead with room for more: hold it back only if what follows it so far could still be
    // the start of a valid sequence.
    if (have >= 2 && !valid_second(lead, static_cast<unsigned char>(bytes[i]))) return size;
    return i - 1;
  }
  return size;
}

}  // namespace jobgw::core
