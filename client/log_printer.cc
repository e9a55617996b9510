#include "client/log_printer.h"

#include "api/status_names.h"
#include "client/command_output.h"
#include "client/job_state.h"
#include "client/watch_renderer.h"

namespace jobgw::client {

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
  if (!e.content().empty()) line += ": " + e.content();
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
      for (const auto& entry : event.file_entries()) print(own_line(host, file_log_text(entry)));
      break;
    case v1::LOG_EVENT_KIND_HOST_END:
      print(lines_.end_host(host));
      print(lines_.host_line(host, "ended: " + api::host_status_name(event.status()) + " exit " +
                                       std::to_string(event.exit_code())));
      break;
    default:
      // A kind this jobctl does not know (a newer jobgw): nothing it could print correctly.
      break;
  }
  out_ << std::flush;
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
