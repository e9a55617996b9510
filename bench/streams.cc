#include "streams.h"

#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_grpc.h"
#include "bench_http.h"
#include "bench_stats.h"

namespace jobgw::bench {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t status_requests(const nlohmann::json& stats) {
  if (!stats.is_object() || !stats.contains("requests")) return 0;
  return stats["requests"].value("get_job_instance_status", std::int64_t{0});
}

}  // namespace

nlohmann::json run_streams(const StreamsOptions& o) {
  if (o.jobgw_pid <= 0) throw std::runtime_error("streams needs --jobgw-pid");
  auto stubs = make_stubs(o.grpc_address, std::max(1, o.channels));
  const std::int64_t rss_before = process_rss_kib(o.jobgw_pid);
  const auto start = Clock::now();
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(o.timeout_s);

  std::vector<std::int64_t> jobs;
  for (int j = 0; j < o.jobs; ++j) {
    jobs.push_back(
        submit_through_gateway(*stubs[j % stubs.size()], host_range(1), "echo streams", "streams")
            .job_instance_id());
  }
  StreamSet set;
  for (int i = 0; i < o.streams; ++i) {
    set.open(stubs[i % stubs.size()].get(), jobs[i % jobs.size()], deadline);
  }
  // Every stream has its SNAPSHOT: all are open and registered with the hub.
  const auto open_by = Clock::now() + std::chrono::seconds(o.timeout_s);
  while (set.started() < o.streams && Clock::now() < open_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double open_s = std::chrono::duration<double>(Clock::now() - start).count();
  const int opened = set.started();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const std::int64_t rss_open = process_rss_kib(o.jobgw_pid);

  // Idle: the pollers are at their ceiling and nothing changes.
  std::this_thread::sleep_until(start + std::chrono::milliseconds(o.idle_after_ms));
  const double cpu0 = process_thread_cpu_ms(o.jobgw_pid);
  const double ticks0 = process_cpu_ms(o.jobgw_pid);
  const std::int64_t switches0 = process_context_switches(o.jobgw_pid);
  const std::int64_t reads0 = status_requests(jobsim_stats(o.jobsim_port));
  std::this_thread::sleep_for(std::chrono::duration<double>(o.idle_seconds));
  const double cpu1 = process_thread_cpu_ms(o.jobgw_pid);
  const double ticks1 = process_cpu_ms(o.jobgw_pid);
  const std::int64_t switches1 = process_context_switches(o.jobgw_pid);
  const std::int64_t reads1 = status_requests(jobsim_stats(o.jobsim_port));
  const bool idle_before_end = set.started() == opened;  // no stream ended during the window

  set.wait_all();
  std::vector<double> fanout;
  std::vector<double> lag;
  int done = 0;
  int errors = 0;
  std::string first_error;
  for (const auto& s : set.streams()) {
    if (!s->finished()) {
      if (first_error.empty()) first_error = s->status().error_message();
      ++errors;
      continue;
    }
    ++done;
    fanout.push_back(static_cast<double>(s->finished_fanout_ms()));
    lag.push_back(static_cast<double>(s->seen().finished_ms - s->end_time_ms()));
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const std::int64_t rss_after = process_rss_kib(o.jobgw_pid);
  const Percentiles f = percentiles(fanout);
  const Percentiles l = percentiles(lag);
  const double idle_cpu_ms = cpu1 - cpu0;
  const double idle_reads = static_cast<double>(reads1 - reads0);
  nlohmann::json out = {
      {"scenario", "streams"},
      {"streams", o.streams},
      {"jobs", o.jobs},
      {"channels", stubs.size()},
      {"opened", opened},
      {"open_s", open_s},
      {"rss_before_kib", rss_before},
      {"rss_open_kib", rss_open},
      {"rss_after_kib", rss_after},
      {"rss_per_stream_kib",
       static_cast<double>(rss_open - rss_before) / static_cast<double>(std::max(1, opened))},
      {"idle_window_s", o.idle_seconds},
      {"idle_valid", idle_before_end},
      {"idle_cpu_ms", idle_cpu_ms},
      {"idle_cpu_ms_ticks", ticks1 - ticks0},
      {"idle_switches_per_read",
       idle_reads > 0 ? static_cast<double>(switches1 - switches0) / idle_reads : 0.0},
      {"idle_reads", idle_reads},
      {"idle_cpu_percent", idle_cpu_ms / (o.idle_seconds * 1000.0) * 100.0},
      {"idle_reads_per_s", idle_reads / o.idle_seconds},
      {"idle_cpu_ms_per_read", idle_reads > 0 ? idle_cpu_ms / idle_reads : 0.0},
      {"fanout_ms_p50", f.p50},
      {"fanout_ms_p99", f.p99},
      {"fanout_ms_max", f.max},
      {"finish_lag_ms_p50", l.p50},
      {"finish_lag_ms_p99", l.p99},
      {"callers_done", done},
      {"errors", errors}};
  if (!first_error.empty()) out["first_error"] = first_error;
  return out;
}

}  // namespace jobgw::bench
