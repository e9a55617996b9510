#include "core/job/sops_vars.h"

#include <cstddef>
#include <unordered_map>

namespace jobgw::core {
namespace {

// What Python's re.findall(open + "(.+?)" + close, text, re.DOTALL) returns: the shortest body of
// at least one byte after each opening, searching on after the whole match.
void find_markers(std::string_view text, std::string_view open, std::string_view close,
                  std::vector<std::string_view>& out) {
  std::size_t from = 0;
  while (true) {
    std::size_t start = text.find(open, from);
    if (start == std::string_view::npos) return;
    std::size_t body = start + open.size();
    if (body >= text.size()) return;
    std::size_t end = text.find(close, body + 1);
    // No closing after this opening means none after any later one either.
    if (end == std::string_view::npos) return;
    out.push_back(text.substr(body, end - body));
    from = end + close.size();
  }
}

}  // namespace

std::vector<SopsVar> extract_sops_vars(std::string_view log_text) {
  std::vector<std::string_view> bodies;
  find_markers(log_text, "<SOPS_VAR>", "</SOPS_VAR>", bodies);
  find_markers(log_text, "&lt;SOPS_VAR&gt;", "&lt;/SOPS_VAR&gt;", bodies);
  std::vector<SopsVar> out;
  std::unordered_map<std::string_view, std::size_t> index;
  for (std::string_view body : bodies) {
    std::size_t colon = body.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string_view key = body.substr(0, colon);
    std::string_view value = body.substr(colon + 1);
    auto [it, inserted] = index.emplace(key, out.size());
    if (inserted) {
      out.push_back(SopsVar{std::string(key), std::string(value)});
    } else {
      out[it->second].value = std::string(value);
    }
  }
  return out;
}

}  // namespace jobgw::core
