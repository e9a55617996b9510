#include "client/log_printer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "api/status_names.h"
#include "client/command_output.h"
#include "client/job_state.h"
#include "client/watch_renderer.h"

namespace jobgw::client {

namespace {

// JOB's content of a file entry says again what the entry's fields say ("FileName: /a FileSize:
// 9.0 Bytes State: download success Speed: 89 KB/s Progress: 100% StatusDesc: download
// success"). What it adds is kept: text outside those keys, and a StatusDesc that says more
// than the state ("source file not found on host ..."). Content in another shape stays whole.
std::string file_log_extra(const std::string& content) {
  static const char* const kKeys[] = {
      "FileName: ", "FileSize: ", "State: ", "Speed: ", "Progress: ", "StatusDesc: "};
  std::vector<std::pair<std::size_t, std::string>> found;  // position, key
  for (const char* key : kKeys) {
    for (auto pos = content.find(key); pos != std::string::npos; pos = content.find(key, pos + 1)) {
      if (pos == 0 || content[pos - 1] == ' ') found.emplace_back(pos, key);
    }
  }
  auto trim = [](std::string text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return std::string();
    return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
  };
  if (found.empty()) return trim(content);
  std::sort(found.begin(), found.end());
  std::string extra = trim(content.substr(0, found.front().first));
  std::string state, desc;
  for (std::size_t i = 0; i < found.size(); ++i) {
    const auto start = found[i].first + found[i].second.size();
    const auto end = i + 1 < found.size() ? found[i + 1].first : content.size();
    const std::string value = trim(content.substr(start, end > start ? end - start : 0));
    if (found[i].second == "State: ") state = value;
    if (found[i].second == "StatusDesc: ") desc = value;
  }
  if (!desc.empty() && desc != state) extra += (extra.empty() ? "" : " ") + desc;
  return extra;
}

}  // namespace

std::string file_log_text(const v1::FileLog& e) {
  std::string line;
  if (e.mode() == v1::FILE_LOG_MODE_DOWNLOAD) {
    line = "download " + host_address(e.src_host()) + ":" + e.src_path() + " -> " + e.dest_path();
  } else {
    line = "upload " + e.src_path();
  }
  line += " " + api::file_log_status_name(e.status());
  for (const auto* extra : {&e.progress(), &e.size(), &e.speed()}) {
    if (!extra->empty()) line += " " + *extra;
  }
  if (const std::string extra = file_log_extra(e.content()); !extra.empty()) line += ": " + extra;
  while (!line.empty() && line.back() == '\n') line.pop_back();
  return line;
}

LogPrinter::LogPrinter(LogPrinterOptions options, std::ostream& out, std::ostream& err)
    : options_(options), out_(out), err_(err), lines_(options.prefix_hosts) {}

void LogPrinter::print(const std::string& text) {
  if (!text.empty()) out_ << text;
}

void LogPrinter::note(const std::string& text) {
  print(lines_.break_line());
  out_ << std::flush;
  err_ << "jobctl: " << text << "\n" << std::flush;
}

std::string LogPrinter::own_line(const std::string& host, const std::string& text) {
  if (options_.prefix_hosts) return lines_.host_line(host, text);
  return lines_.break_line() + text + "\n";
}

void LogPrinter::on_event(const v1::LogEvent& event) {
  if (reconnected_) {
    reconnected_ = false;
    if (!event.resumed()) {
      print(lines_.restart());
      seen_.clear();
      ended_.clear();
      files_.clear();
      note("logs: jobgw could not resume the stream; output restarts from the beginning");
    }
  }
  const std::string host = host_label(event.host());
  seen_.insert(host);
  if (event.kind() == v1::LOG_EVENT_KIND_HOST_END) ended_[host] = event.status();
  if (options_.json) {
    out_ << to_json(event) << "\n" << std::flush;
    return;
  }
  switch (event.kind()) {
    case v1::LOG_EVENT_KIND_TEXT:
      print(lines_.add(host, event.text()));
      if (event.truncated()) {
        print(lines_.end_host(host));
        print(own_line(host,
                       "(log too large for jobgw to follow; the rest is not shown: jobctl logs "
                       "prints it once the host ended)"));
      }
      break;
    case v1::LOG_EVENT_KIND_FILE:
      for (const auto& entry : event.file_entries()) add_file_entry(host, entry);
      break;
    case v1::LOG_EVENT_KIND_HOST_END:
      print(lines_.end_host(host));
      print_unfinished_files(host);
      print(lines_.host_line(host, "ended: " + api::host_status_name(event.status()) + " exit " +
                                       std::to_string(event.exit_code())));
      break;
    default:
      // A kind this jobctl does not know (a newer jobgw): nothing it could print correctly.
      break;
  }
  out_ << std::flush;
}

namespace {

// What makes a FILE entry the same transfer across the events that update it.
std::string transfer_key(const v1::FileLog& e) {
  return std::to_string(e.mode()) + "\n" + host_address(e.src_host()) + "\n" + e.src_path() + "\n" +
         e.dest_path();
}

bool file_entry_final(const v1::FileLog& e) {
  return e.status() == v1::FILE_LOG_STATUS_SUCCESS || e.status() == v1::FILE_LOG_STATUS_FAILED;
}

}  // namespace

// jobgw sends an entry again each time its progress changes: printed as it came, one file's
// transfer filled the log with a line per progress step. It is printed once, when it ends;
// one still running when its host ends (or the stream does) is printed then, as it last was.
void LogPrinter::add_file_entry(const std::string& host, const v1::FileLog& entry) {
  FileState& state = files_[host + "\n" + transfer_key(entry)];
  if (state.printed) return;
  if (!file_entry_final(entry)) {
    state.host = host;
    state.last = entry;
    state.pending = true;
    return;
  }
  state.printed = true;
  state.pending = false;
  print(own_line(host, file_log_text(entry)));
}

void LogPrinter::print_unfinished_files(const std::string& host) {
  for (auto& [key, state] : files_) {
    if (!state.pending || (!host.empty() && state.host != host)) continue;
    state.pending = false;
    state.printed = true;
    print(own_line(state.host, file_log_text(state.last)));
  }
}

void LogPrinter::on_reconnect(const grpc::Status& status, std::chrono::milliseconds delay,
                              int attempt) {
  reconnected_ = true;
  note("logs: reconnecting (attempt " + std::to_string(attempt) + ", in " +
       std::to_string(delay.count()) + "ms): stream ended " +
       api::grpc_code_name(status.error_code()) + ": " + status.error_message());
}

void LogPrinter::on_reconnected(int attempts) {
  note("logs: reconnected after " + std::to_string(attempts) +
       (attempts == 1 ? " attempt" : " attempts"));
}

void LogPrinter::finish() {
  if (!options_.json) print_unfinished_files("");
  print(lines_.flush());
  out_ << std::flush;
}

bool LogPrinter::all_hosts_succeeded() const {
  if (ended_.empty()) return false;
  for (const auto& [host, status] : ended_) {
    if (status != v1::HOST_STATUS_SUCCESS && status != v1::HOST_STATUS_LAST_SUCCESS) return false;
  }
  return true;
}

bool LogPrinter::every_host_ended() const {
  for (const auto& host : seen_) {
    if (ended_.count(host) == 0) return false;
  }
  return true;
}

}  // namespace jobgw::client
