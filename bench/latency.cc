#include "latency.h"

#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_grpc.h"
#include "bench_http.h"
#include "bench_stats.h"

namespace jobgw::bench {

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kScript = "echo latency";

// JOB's timestamps of one finished job: when it started, each host ended, it ended.
struct JobTimes {
  std::int64_t start_ms = 0;
  std::map<std::int64_t, std::int64_t> host_end_ms;
  std::int64_t end_ms = 0;
};

JobTimes times_of(const v1::JobSnapshot& s) {
  JobTimes t;
  t.start_ms = s.start_time_ms();
  t.end_ms = s.end_time_ms();
  for (const auto& step : s.steps()) {
    for (const auto& h : step.hosts()) t.host_end_ms[h.host().host_id()] = h.end_time_ms();
  }
  return t;
}

JobTimes times_of(const nlohmann::json& data) {
  JobTimes t;
  const auto& job = data["job_instance"];
  t.start_ms = job.value("start_time", std::int64_t{0});
  t.end_ms = job.value("end_time", std::int64_t{0});
  for (const auto& step : data["step_instance_list"]) {
    for (const auto& h : step["step_ip_result_list"]) {
      t.host_end_ms[h.value("bk_host_id", std::int64_t{0})] = h.value("end_time", std::int64_t{0});
    }
  }
  return t;
}

// What a poller saw in one JOB answer (the baseline's view).
void note_json(const nlohmann::json& data, std::int64_t now_ms, SeenTimes& seen) {
  const int status = data["job_instance"].value("status", 0);
  if (seen.running_ms == 0 && status >= 2) seen.running_ms = now_ms;
  for (const auto& step : data["step_instance_list"]) {
    for (const auto& h : step["step_ip_result_list"]) {
      const int hs = h.value("status", 0);
      if (hs != 5 && hs != 7 && hs != 0) {
        seen.host_final_ms.emplace(h.value("bk_host_id", std::int64_t{0}), now_ms);
      }
    }
  }
  if (data.value("finished", false) && seen.finished_ms == 0) seen.finished_ms = now_ms;
}

struct Delays {
  std::vector<double> start, host, finish;
  int missed = 0;  // a change the caller never saw

  void add(const JobTimes& job, const SeenTimes& seen, int young_ms) {
    auto young = [&](std::int64_t at) { return at > 0 && at - job.start_ms < young_ms; };
    if (seen.running_ms == 0)
      ++missed;
    else
      start.push_back(static_cast<double>(seen.running_ms - job.start_ms));
    for (const auto& [host_id, end] : job.host_end_ms) {
      auto it = seen.host_final_ms.find(host_id);
      if (it == seen.host_final_ms.end())
        ++missed;
      else if (young(end))
        host.push_back(static_cast<double>(it->second - end));
    }
    if (seen.finished_ms == 0)
      ++missed;
    else if (young(job.end_ms))
      finish.push_back(static_cast<double>(seen.finished_ms - job.end_ms));
  }
};

nlohmann::json summarize(const std::vector<double>& samples) {
  Percentiles p = percentiles(samples);
  return {{"n", samples.size()}, {"p50", p.p50}, {"p95", p.p95}, {"p99", p.p99}, {"max", p.max}};
}

nlohmann::json result(const std::string& mode, const LatencyOptions& o, const Delays& d, int done,
                      int errors, std::int64_t status_reads, double wall_s) {
  return {{"scenario", "latency"},
          {"mode", mode},
          {"label", o.label},
          {"interval_ms", mode == "baseline" ? o.interval_ms : 0},
          {"jobs", o.jobs},
          {"hosts", o.hosts},
          {"young_ms", o.young_ms},
          {"callers_done", done},
          {"errors", errors},
          {"missed_changes", d.missed},
          {"status_reads", status_reads},
          {"status_reads_per_job", static_cast<double>(status_reads) / std::max(1, o.jobs)},
          {"start", summarize(d.start)},
          {"host", summarize(d.host)},
          {"finish", summarize(d.finish)},
          {"wall_s", wall_s}};
}

std::int64_t status_requests(const nlohmann::json& stats) {
  if (!stats.is_object() || !stats.contains("requests")) return 0;
  return stats["requests"].value("get_job_instance_status", std::int64_t{0});
}

}  // namespace

nlohmann::json run_latency_baseline(const LatencyOptions& o) {
  const auto hosts = host_range(o.hosts);
  const nlohmann::json before = jobsim_stats(o.jobsim_port);
  const auto start = Clock::now();
  const auto give_up = start + std::chrono::seconds(o.timeout_s);
  std::mutex mu;
  Delays delays;
  int done = 0;
  int errors = 0;
  // A thread per caller: each is a service of its own, submitting and polling on its connection.
  std::vector<std::thread> callers;
  for (int i = 0; i < o.jobs; ++i) {
    callers.emplace_back([&, i] {
      std::this_thread::sleep_until(start + std::chrono::milliseconds(static_cast<std::int64_t>(
                                                i * 1000.0 / o.jobs_per_second)));
      HttpConn conn(o.jobsim_port);
      std::string why;
      nlohmann::json ref = job_data(
          conn.post(job_path("fast_execute_script"), script_submit_body(hosts, kScript, "latency")),
          &why);
      if (!ref.is_object()) {
        std::lock_guard<std::mutex> lock(mu);
        ++errors;
        return;
      }
      const std::int64_t job_id = ref["job_instance_id"].get<std::int64_t>();
      SeenTimes seen;
      nlohmann::json data;
      while (Clock::now() < give_up) {
        data = job_data(conn.get(status_target(job_id)), &why);
        const std::int64_t now = unix_ms();
        if (!data.is_object()) break;
        note_json(data, now, seen);
        if (seen.finished_ms != 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(o.interval_ms));
      }
      std::lock_guard<std::mutex> lock(mu);
      if (seen.finished_ms == 0) {
        ++errors;
        return;
      }
      ++done;
      delays.add(times_of(data), seen, o.young_ms);
    });
  }
  for (auto& t : callers) t.join();
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  const nlohmann::json after = jobsim_stats(o.jobsim_port);
  return result("baseline", o, delays, done, errors,
                status_requests(after) - status_requests(before), wall_s);
}

nlohmann::json run_latency_gateway(const LatencyOptions& o) {
  const auto hosts = host_range(o.hosts);
  auto stubs = make_stubs(o.grpc_address, 1);
  const nlohmann::json before = jobsim_stats(o.jobsim_port);
  const auto start = Clock::now();
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(o.timeout_s);
  StreamSet streams;
  int errors = 0;
  for (int i = 0; i < o.jobs; ++i) {
    std::this_thread::sleep_until(start + std::chrono::milliseconds(static_cast<std::int64_t>(
                                              i * 1000.0 / o.jobs_per_second)));
    try {
      const v1::JobRef ref = submit_through_gateway(*stubs[0], hosts, kScript, "latency");
      streams.open(stubs[0].get(), ref.job_instance_id(), deadline);
    } catch (const std::exception&) {
      ++errors;
    }
  }
  streams.wait_all();
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  Delays delays;
  int done = 0;
  for (const auto& s : streams.streams()) {
    if (!s->finished()) {
      ++errors;
      continue;
    }
    ++done;
    delays.add(times_of(s->final_snapshot()), s->seen(), o.young_ms);
  }
  const nlohmann::json after = jobsim_stats(o.jobsim_port);
  return result("jobgw", o, delays, done, errors, status_requests(after) - status_requests(before),
                wall_s);
}

}  // namespace jobgw::bench
