#include "client/log_lines.h"

namespace jobgw::client {

std::string LogLines::add(const std::string& host, std::string_view text) {
  if (text.empty()) return {};
  if (!prefix_hosts_) {
    line_open_ = text.back() != '\n';
    return std::string(text);
  }
  std::string& held = partial_[host];
  std::string out;
  std::string_view::size_type start = 0;
  while (true) {
    auto newline = text.find('\n', start);
    if (newline == std::string_view::npos) break;
    out += prefix(host);
    out += held;
    out.append(text.substr(start, newline + 1 - start));
    held.clear();
    start = newline + 1;
  }
  held.append(text.substr(start));
  if (held.empty()) partial_.erase(host);
  return out;
}

std::string LogLines::end_host(const std::string& host) {
  if (!prefix_hosts_) return break_line();
  auto it = partial_.find(host);
  if (it == partial_.end()) return {};
  std::string out = prefix(host) + it->second + "\n";
  partial_.erase(it);
  return out;
}

std::string LogLines::host_line(const std::string& host, const std::string& text) {
  return break_line() + prefix(host) + text + "\n";
}

std::string LogLines::break_line() {
  if (!line_open_) return {};
  line_open_ = false;
  return "\n";
}

std::string LogLines::restart() {
  partial_.clear();
  return break_line();
}

std::string LogLines::flush() {
  std::string out = break_line();
  for (const auto& [host, held] : partial_) out += prefix(host) + held + "\n";
  partial_.clear();
  return out;
}

}  // namespace jobgw::client
