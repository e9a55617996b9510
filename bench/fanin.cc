#include "fanin.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_grpc.h"
#include "bench_http.h"
#include "bench_stats.h"
#include "jobgw/v1/job_gateway.grpc.pb.h"
#include "pollers.h"

namespace jobgw::bench {

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kScript = "echo fan-in";

std::int64_t counter(const nlohmann::json& stats, const char* group, const std::string& key) {
  if (!stats.is_object() || !stats.contains(group) || !stats[group].contains(key)) return 0;
  return stats[group][key].get<std::int64_t>();
}

nlohmann::json summary(const std::string& mode, const FaninOptions& o, std::int64_t job_id,
                       const nlohmann::json& before, const nlohmann::json& after,
                       std::int64_t job_ms, std::vector<double> lags, int callers_done, int errors,
                       double wall_s) {
  std::int64_t reads = counter(after, "status_reads", std::to_string(job_id));
  std::int64_t log_reads = counter(after, "requests", "batch_get_job_instance_ip_log") -
                           counter(before, "requests", "batch_get_job_instance_ip_log");
  Percentiles lag = percentiles(std::move(lags));
  double job_s = static_cast<double>(std::max<std::int64_t>(job_ms, 1)) / 1000.0;
  return {{"scenario", "fanin"},
          {"mode", mode},
          {"interval_ms", mode == "baseline" ? o.interval_ms : 0},
          {"k", o.k},
          {"job_instance_id", job_id},
          {"job_ms", job_ms},
          {"status_reads", reads},
          {"reads_per_job_second", static_cast<double>(reads) / job_s},
          {"log_reads", log_reads},
          {"callers_done", callers_done},
          {"errors", errors},
          {"notice_lag_ms_p50", lag.p50},
          {"notice_lag_ms_max", lag.max},
          {"wall_s", wall_s}};
}

}  // namespace

nlohmann::json run_fanin_baseline(const FaninOptions& o) {
  const auto hosts = host_range(o.hosts);
  nlohmann::json before = jobsim_stats(o.jobsim_port);
  HttpConn submitter(o.jobsim_port);
  std::string error;
  nlohmann::json ref = job_data(
      submitter.post(job_path("fast_execute_script"), script_submit_body(hosts, kScript, "fan-in")),
      &error);
  if (!ref.is_object()) throw std::runtime_error("submit to jobsim failed: " + error);
  const std::int64_t job_id = ref["job_instance_id"].get<std::int64_t>();
  const std::int64_t step_id = ref["step_instance_id"].get<std::int64_t>();
  const auto start = Clock::now();
  const auto give_up = start + std::chrono::seconds(o.timeout_s);

  std::mutex mu;  // guards the results below
  int done = 0;
  int errors = 0;
  std::int64_t end_time_ms = 0;
  std::int64_t job_ms = 0;
  std::vector<double> lags;
  run_pollers(o.jobsim_port, o.k, o.workers, std::chrono::milliseconds(o.interval_ms), start,
              give_up, [&](HttpConn& conn, int) {
                std::string why;
                nlohmann::json data = job_data(conn.get(status_target(job_id)), &why);
                bool finished = data.is_object() && data.value("finished", false);
                std::int64_t noticed = unix_ms();
                bool logs_ok = true;
                if (finished) {
                  logs_ok = job_data(conn.post(job_path("batch_get_job_instance_ip_log"),
                                               log_body(job_id, step_id, hosts)))
                                .is_object();
                }
                std::lock_guard<std::mutex> lock(mu);
                if (!data.is_object() || !logs_ok) ++errors;
                if (finished) {
                  const auto& job = data["job_instance"];
                  end_time_ms = job.value("end_time", std::int64_t{0});
                  job_ms = job.value("total_time", std::int64_t{0});
                  lags.push_back(static_cast<double>(noticed - end_time_ms));
                  ++done;
                }
                return finished;
              });
  double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  nlohmann::json after = jobsim_stats(o.jobsim_port);
  return summary("baseline", o, job_id, before, after, job_ms, std::move(lags), done, errors,
                 wall_s);
}

nlohmann::json run_fanin_gateway(const FaninOptions& o) {
  const auto hosts = host_range(o.hosts);
  int n_channels = o.channels > 0 ? o.channels : std::clamp((o.k + 99) / 100, 1, 16);
  auto stubs = make_stubs(o.grpc_address, n_channels);

  nlohmann::json before = jobsim_stats(o.jobsim_port);
  const v1::JobRef ref = submit_through_gateway(*stubs[0], hosts, kScript, "fan-in");
  const std::int64_t job_id = ref.job_instance_id();
  const auto start = Clock::now();
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(o.timeout_s);

  StreamSet watchers;
  for (int i = 0; i < o.k; ++i) watchers.open(stubs[i % n_channels].get(), job_id, deadline);
  watchers.wait_all();

  // Then every caller fetches the logs, as the baseline callers do.
  std::atomic<int> next{0};
  std::atomic<int> log_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, std::min(o.k, 32)); ++t) {
    threads.emplace_back([&, t] {
      for (int i = next++; i < o.k; i = next++) {
        v1::GetIpLogsRequest req;
        req.mutable_scope()->set_type("biz");
        req.mutable_scope()->set_id("1");
        req.set_job_instance_id(job_id);
        req.set_step_instance_id(ref.step_instance_id());
        for (auto id : hosts) req.add_host_ids(id);
        v1::GetIpLogsResponse resp;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        if (!stubs[(t + i) % n_channels]->GetIpLogs(&ctx, req, &resp).ok()) ++log_errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(o.settle_ms));
  nlohmann::json after = jobsim_stats(o.jobsim_port);

  int done = 0;
  int errors = log_errors.load();
  std::int64_t job_ms = 0;
  std::vector<double> lags;
  for (const auto& w : watchers.streams()) {
    if (w->finished()) {
      ++done;
      job_ms = w->job_ms();
      lags.push_back(static_cast<double>(w->seen().finished_ms - w->end_time_ms()));
    } else {
      ++errors;
    }
  }
  nlohmann::json out =
      summary("jobgw", o, job_id, before, after, job_ms, std::move(lags), done, errors, wall_s);
  out["channels"] = n_channels;
  if (!watchers.streams().empty() && !watchers.streams().front()->status().ok()) {
    out["first_error"] = watchers.streams().front()->status().error_message();
  }
  return out;
}

}  // namespace jobgw::bench
