#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <ostream>
#include <set>
#include <string>

#include "client/log_lines.h"
#include "jobgw/v1/job_gateway.pb.h"

namespace jobgw::client {

struct LogPrinterOptions {
  // "[HOST] " before every line: set when more than one host is followed.
  bool prefix_hosts = true;
  // Each event as one JSON line instead of text.
  bool json = false;
};

// Prints a FollowLogs stream as it arrives: TEXT as lines (see LogLines), each FILE entry one
// line once it ended (a running one's progress updates are not printed), HOST_END as "[HOST] ended:
// STATUS exit CODE". Notes (reconnects, a restart from the beginning) go to `err` after `out` is
// flushed, so both stay in order on a terminal. Keeps how each host ended, for the exit code. Not
// thread-safe: callers serialise calls.
class LogPrinter {
 public:
  LogPrinter(LogPrinterOptions options, std::ostream& out, std::ostream& err);

  void on_event(const v1::LogEvent& event);
  // The stream broke and is opened again after `delay`. The next event tells whether jobgw
  // resumed it; when not, the output starts again from the beginning of every log.
  void on_reconnect(const grpc::Status& status, std::chrono::milliseconds delay, int attempt);
  // The reopened stream delivered its first event (told before that event).
  void on_reconnected(int attempts);
  // The stream ended: ends the partial lines still held.
  void finish();

  // Every followed host whose HOST_END came, and each of them with SUCCESS (or LAST_SUCCESS).
  bool all_hosts_succeeded() const;
  // Every host seen in the stream has ended.
  bool every_host_ended() const;
  std::size_t hosts_ended() const { return ended_.size(); }
  // Host label -> final status, of the hosts that ended.
  const std::map<std::string, int>& ended() const { return ended_; }

 private:
  void print(const std::string& text);
  void note(const std::string& text);
  // A line of jobctl's own about `host`, prefixed by it when lines are.
  std::string own_line(const std::string& host, const std::string& text);
  void add_file_entry(const std::string& host, const v1::FileLog& entry);
  // The file entries of `host` ("": every host) that never ended, as they last were.
  void print_unfinished_files(const std::string& host);

  // One transfer of a FILE log (a host's entry for one source file).
  struct FileState {
    std::string host;
    v1::FileLog last;      // its latest state, while it runs
    bool pending = false;  // seen running, not printed yet
    bool printed = false;
  };

  LogPrinterOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  LogLines lines_;
  bool reconnected_ = false;
  std::set<std::string> seen_;
  std::map<std::string, int> ended_;
  std::map<std::string, FileState> files_;  // host + transfer -> its state
};

// One FILE log entry as jobctl prints it: "download 0:192.0.2.1:/a.log -> /tmp/in success 100%".
std::string file_log_text(const v1::FileLog& entry);

}  // namespace jobgw::client
