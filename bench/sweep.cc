#include "sweep.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "bench_grpc.h"
#include "bench_http.h"
#include "bench_stats.h"
#include "pollers.h"

namespace jobgw::bench {

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kScript = "echo sweep";

// What one caller kind ended with: per job, its id and notice lag.
struct Outcome {
  std::vector<std::int64_t> job_ids;
  std::vector<double> lags_ms;
  std::vector<double> job_ms;  // JOB's total_time of each finished job
  int done = 0;
  int errors = 0;
};

std::int64_t reads_of(const nlohmann::json& stats, std::int64_t job_id) {
  if (!stats.is_object() || !stats.contains("status_reads")) return 0;
  return stats["status_reads"].value(std::to_string(job_id), std::int64_t{0});
}

nlohmann::json row(const SweepOptions& o, const std::string& caller, int interval_ms,
                   const Outcome& out, const nlohmann::json& stats, double wall_s) {
  std::int64_t reads = 0;
  for (auto id : out.job_ids) reads += reads_of(stats, id);
  const Percentiles lag = percentiles(out.lags_ms);
  const Percentiles job = percentiles(out.job_ms);
  return {{"scenario", "sweep"},
          {"caller", caller},
          {"interval_ms", interval_ms},
          {"duration_ms", o.duration_ms},
          {"job_ms_mean", job.mean},
          {"jobs", o.jobs},
          {"callers_done", out.done},
          {"errors", out.errors},
          {"status_reads", reads},
          {"status_reads_per_job",
           static_cast<double>(reads) / std::max<std::size_t>(1, out.job_ids.size())},
          {"notice_lag_ms", {{"p50", lag.p50}, {"p95", lag.p95}, {"max", lag.max}}},
          {"wall_s", wall_s}};
}

Outcome follow_through_gateway(const SweepOptions& o) {
  Outcome out;
  auto stubs = make_stubs(o.grpc_address, 1);
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(o.timeout_s);
  StreamSet streams;
  for (int i = 0; i < o.jobs; ++i) {
    try {
      const v1::JobRef ref =
          submit_through_gateway(*stubs[0], host_range(o.hosts), kScript, "sweep");
      out.job_ids.push_back(ref.job_instance_id());
      streams.open(stubs[0].get(), ref.job_instance_id(), deadline);
    } catch (const std::exception& e) {
      if (out.errors++ == 0) std::fprintf(stderr, "sweep jobgw: %s\n", e.what());
    }
  }
  streams.wait_all();
  for (const auto& s : streams.streams()) {
    if (!s->finished()) {
      ++out.errors;
      continue;
    }
    ++out.done;
    out.lags_ms.push_back(static_cast<double>(s->seen().finished_ms - s->end_time_ms()));
    out.job_ms.push_back(static_cast<double>(s->job_ms()));
  }
  return out;
}

// The status quo at one interval: each caller submits its job over HTTP, reads it right away and
// then `interval_ms` after each answer until it finished.
Outcome follow_by_polling(const SweepOptions& o, int interval_ms) {
  Outcome out;
  std::vector<std::int64_t> job_ids(o.jobs, 0);
  std::mutex mu;  // guards out
  const auto start = Clock::now();
  const std::string body = script_submit_body(host_range(o.hosts), kScript, "sweep");
  // A caller is polled by one worker at a time, so its own job_ids entry needs no lock.
  run_pollers(
      o.jobsim_port, o.jobs, o.workers, std::chrono::milliseconds(interval_ms), start,
      start + std::chrono::seconds(o.timeout_s), [&](HttpConn& conn, int i) {
        std::string why;
        if (job_ids[i] == 0) {
          nlohmann::json ref = job_data(conn.post(job_path("fast_execute_script"), body), &why);
          job_ids[i] = ref.is_object() ? ref["job_instance_id"].get<std::int64_t>() : -1;
        }
        nlohmann::json data;
        if (job_ids[i] > 0) data = job_data(conn.get(status_target(job_ids[i])), &why);
        const std::int64_t noticed = unix_ms();
        std::lock_guard<std::mutex> lock(mu);
        if (!data.is_object()) {
          ++out.errors;
          return true;
        }
        if (!data.value("finished", false)) return false;
        const auto& job = data["job_instance"];
        const std::int64_t end = job.value("end_time", std::int64_t{0});
        out.lags_ms.push_back(static_cast<double>(noticed - end));
        out.job_ms.push_back(static_cast<double>(end - job.value("start_time", std::int64_t{0})));
        ++out.done;
        return true;
      });
  for (auto id : job_ids) {
    if (id > 0) out.job_ids.push_back(id);
  }
  out.errors += o.jobs - out.done - out.errors;  // callers still unfinished at the give-up
  return out;
}

}  // namespace

std::vector<nlohmann::json> run_sweep(const SweepOptions& o) {
  if (o.grpc_address.empty()) throw std::runtime_error("sweep: --grpc is required");
  const auto start = Clock::now();
  // Every caller kind at once, each on jobs of its own.
  Outcome gateway;
  std::vector<Outcome> pollers(o.intervals_ms.size());
  std::vector<double> wall_s(o.intervals_ms.size() + 1, 0.0);
  std::vector<std::thread> kinds;
  auto timed = [&](std::size_t slot, auto run) {
    return [&, slot, run] {
      run();
      wall_s[slot] = std::chrono::duration<double>(Clock::now() - start).count();
    };
  };
  kinds.emplace_back(timed(0, [&] { gateway = follow_through_gateway(o); }));
  for (std::size_t i = 0; i < o.intervals_ms.size(); ++i) {
    kinds.emplace_back(
        timed(i + 1, [&, i] { pollers[i] = follow_by_polling(o, o.intervals_ms[i]); }));
  }
  for (auto& t : kinds) t.join();
  const nlohmann::json stats = jobsim_stats(o.jobsim_port);
  std::vector<nlohmann::json> rows = {row(o, "jobgw", 0, gateway, stats, wall_s[0])};
  for (std::size_t i = 0; i < o.intervals_ms.size(); ++i) {
    rows.push_back(row(o, "poll", o.intervals_ms[i], pollers[i], stats, wall_s[i + 1]));
  }
  return rows;
}

}  // namespace jobgw::bench
