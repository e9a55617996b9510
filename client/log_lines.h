#pragma once

#include <map>
#include <string>
#include <string_view>

namespace jobgw::client {

// Turns the chunks of several hosts' logs, which arrive cut anywhere, into output where no line
// mixes two hosts. With prefixes (more than one host followed), a host's partial line waits for
// its newline or the host's end, and every line starts with "[HOST] ". Without (one host), text
// passes through as it comes, and only whether it left a line open is remembered, so that
// jobctl's own lines still start on a line of their own. Every method returns what to print.
class LogLines {
 public:
  explicit LogLines(bool prefix_hosts) : prefix_hosts_(prefix_hosts) {}

  bool prefix_hosts() const { return prefix_hosts_; }

  // A new chunk of the log of the host labelled `host`.
  std::string add(const std::string& host, std::string_view text);
  // The host's log is complete: its held partial line, ended by a newline.
  std::string end_host(const std::string& host);
  // One line of jobctl's own about `host` ("[HOST] text"), after ending an open line.
  std::string host_line(const std::string& host, const std::string& text);
  // What ends an open line, so that a line of jobctl's own starts at the beginning of one.
  std::string break_line();
  // The log starts again from its beginning: held partial lines are dropped (they come again).
  std::string restart();
  // The stream ended: every held partial line, each ended by a newline.
  std::string flush();

 private:
  static std::string prefix(const std::string& host) { return "[" + host + "] "; }

  const bool prefix_hosts_;
  std::map<std::string, std::string> partial_;  // host -> text after its last newline
  bool line_open_ = false;                      // unprefixed output ended mid-line
};

}  // namespace jobgw::client
