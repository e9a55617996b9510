#include "client/list_command.h"

#include <ctime>

#include "api/status_names.h"
#include "client/command_output.h"

namespace jobgw::client {
namespace {

bool utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Characters rather than bytes, so a non-ASCII name does not push its row's columns right.
std::size_t text_width(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += utf8_continuation(c) ? 0 : 1;
  return n;
}

// The first `width` characters of `s`, never cutting one in two.
std::string cut(const std::string& s, std::size_t width) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (utf8_continuation(s[i])) continue;
    if (chars++ == width) return s.substr(0, i);
  }
  return s;
}

std::string name_cell(const std::string& name) {
  if (name.empty()) return "-";
  if (text_width(name) <= kMaxNameWidth) return name;
  return cut(name, kMaxNameWidth - 3) + "...";
}

std::string hosts_cell(const v1::HostCounts& h) {
  return std::to_string(h.success()) + "/" + std::to_string(h.failed()) + "/" +
         std::to_string(h.running()) + "/" + std::to_string(h.total());
}

v1::JobStateFilter state_filter(ListState state) {
  switch (state) {
    case ListState::kRunning:
      return v1::JOB_STATE_FILTER_RUNNING;
    case ListState::kFinished:
      return v1::JOB_STATE_FILTER_FINISHED;
    case ListState::kFailed:
      return v1::JOB_STATE_FILTER_FAILED;
    case ListState::kAll:
      break;
  }
  return v1::JOB_STATE_FILTER_UNSPECIFIED;
}

}  // namespace

std::string local_time_text(std::int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm local{};
  if (::localtime_r(&seconds, &local) == nullptr) return "-";
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local) == 0) return "-";
  return buf;
}

std::vector<std::string> job_table_lines(const std::vector<v1::JobSummary>& jobs,
                                         const TimeText& time_text) {
  std::vector<std::vector<std::string>> rows = {
      {"JOB ID", "NAME", "STATUS", "HOSTS", "SUBS", "CALLER", "STARTED"}};
  for (const auto& j : jobs) {
    rows.push_back({std::to_string(j.job_instance_id()), name_cell(j.name()),
                    api::job_status_name(j.status()), hosts_cell(j.hosts()),
                    std::to_string(j.subscribers()), j.caller().empty() ? "-" : j.caller(),
                    time_text(j.start_time_ms())});
  }
  std::vector<std::size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], text_width(row[i]));
    }
  }
  std::vector<std::string> lines;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - text_width(row[i]) + 2, ' ');
    }
    lines.push_back(line);
  }
  return lines;
}

int run_list(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  v1::ListJobsRequest request;
  // Without a scope asked for (flag or JOBGW_SCOPE), every scope the caller may read.
  if (c.global.scope_set) *request.mutable_scope() = c.global.scope;
  request.set_state(state_filter(c.list_state));
  request.set_name_prefix(c.name_prefix);
  request.set_page_size(c.limit);
  std::vector<v1::JobSummary> jobs;
  bool more = false;
  while (true) {
    auto page = client.list_jobs(request);
    if (!page.ok()) return report_rpc_error(io.err, "ListJobs", page);
    for (const auto& job : page.response.jobs()) {
      if (c.output == OutputMode::kJson) {
        io.out << to_json(job) << "\n";
      } else {
        jobs.push_back(job);
      }
    }
    const std::string& next = page.response.next_page_token();
    if (next.empty()) break;
    if (!c.all_pages) {
      more = true;
      break;
    }
    if (next == request.page_token()) {
      io.err << "jobctl: ListJobs returned the page_token it was given; paging would not end\n";
      return kExitRpcError;
    }
    request.set_page_token(next);
  }
  if (c.output != OutputMode::kJson) {
    if (jobs.empty()) {
      io.out << "no jobs\n";
    } else {
      for (const auto& line : job_table_lines(jobs, local_time_text)) io.out << line << "\n";
    }
  }
  io.out << std::flush;
  if (more) io.err << "more: use --all\n";
  return kExitOk;
}

}  // namespace jobgw::client
