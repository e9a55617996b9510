#include "budget.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_grpc.h"
#include "bench_http.h"
#include "bench_stats.h"
#include "pollers.h"

namespace jobgw::bench {

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kScript = "echo budget";

// Status reads per second over [from_s, to_s] from jobsim's per-second counts.
nlohmann::json reads_per_second(const nlohmann::json& stats, std::int64_t from_s, std::int64_t to_s,
                                double budget) {
  std::vector<double> per_second;
  std::int64_t total = 0;
  std::int64_t over = 0;
  double max = 0;
  const nlohmann::json empty = nlohmann::json::object();
  const auto& by_second =
      stats.contains("status_reads_by_second") ? stats["status_reads_by_second"] : empty;
  for (std::int64_t s = from_s; s <= to_s; ++s) {
    auto it = by_second.find(std::to_string(s));
    const double n = it == by_second.end() ? 0.0 : it->get<double>();
    per_second.push_back(n);
    total += static_cast<std::int64_t>(n);
    max = std::max(max, n);
    if (n > budget * 1.05) ++over;
  }
  Percentiles p = percentiles(per_second);
  return {{"seconds", per_second.size()}, {"total_reads", total},
          {"max_reads_per_s", max},       {"p50_reads_per_s", p.p50},
          {"mean_reads_per_s", p.mean},   {"seconds_over_budget_5pct", over}};
}

nlohmann::json result(const std::string& mode, const BudgetOptions& o, std::int64_t first_s,
                      std::int64_t last_s, const nlohmann::json& stats, std::vector<double> lags,
                      int done, int errors, double wall_s) {
  Percentiles lag = percentiles(std::move(lags));
  const int every = std::max(1, o.watch_every);
  return {{"scenario", "budget"},
          {"mode", mode},
          {"interval_ms", mode == "baseline" ? o.interval_ms : 0},
          {"jobs", o.jobs},
          {"watch_every", every},
          {"watched", (o.jobs + every - 1) / every},
          {"budget_per_s", o.budget_per_second},
          {"ceiling_ms", o.ceiling_ms},
          {"callers_done", done},
          {"errors", errors},
          {"reads", reads_per_second(stats, first_s, last_s, o.budget_per_second)},
          {"notice_lag_ms_p50", lag.p50},
          {"notice_lag_ms_p95", lag.p95},
          {"notice_lag_ms_max", lag.max},
          {"wall_s", wall_s}};
}

}  // namespace

nlohmann::json run_budget_baseline(const BudgetOptions& o) {
  const auto hosts = host_range(1);
  const std::int64_t first_s = unix_ms() / 1000;
  const auto start = Clock::now();
  const auto give_up = start + std::chrono::seconds(o.timeout_s);
  // Each caller submits its own job, reads its status right away and then every interval; the
  // workers stand in for the independent services, each on its own connection.
  std::vector<std::int64_t> job_ids(o.jobs, 0);
  std::mutex mu;  // guards the results below
  int done = 0;
  int errors = 0;
  std::vector<double> lags;
  // A caller is polled by one worker at a time, so its own entry needs no lock.
  run_pollers(
      o.jobsim_port, o.jobs, o.workers, std::chrono::milliseconds(o.interval_ms), start, give_up,
      [&](HttpConn& conn, int i) {
        std::int64_t job_id = job_ids[i];
        std::string why;
        if (job_id == 0) {
          nlohmann::json ref = job_data(conn.post(job_path("fast_execute_script"),
                                                  script_submit_body(hosts, kScript, "budget")),
                                        &why);
          job_id = ref.is_object() ? ref["job_instance_id"].get<std::int64_t>() : -1;
          job_ids[i] = job_id;
        }
        nlohmann::json data;
        if (job_id > 0) data = job_data(conn.get(status_target(job_id)), &why);
        const std::int64_t noticed = unix_ms();
        std::lock_guard<std::mutex> lock(mu);
        if (!data.is_object()) {
          ++errors;
          return true;
        }
        if (!data.value("finished", false)) return false;
        lags.push_back(
            static_cast<double>(noticed - data["job_instance"].value("end_time", std::int64_t{0})));
        ++done;
        return true;
      });
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  const std::int64_t last_s = unix_ms() / 1000;
  return result("baseline", o, first_s, last_s, jobsim_stats(o.jobsim_port), std::move(lags), done,
                errors, wall_s);
}

nlohmann::json run_budget_gateway(const BudgetOptions& o) {
  const auto hosts = host_range(1);
  auto stubs = make_stubs(o.grpc_address, std::max(1, o.submitters));
  const std::int64_t first_s = unix_ms() / 1000;
  const auto start = Clock::now();
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(o.timeout_s);
  std::vector<std::int64_t> job_ids(o.jobs, 0);
  std::atomic<int> next{0};
  std::atomic<int> submit_errors{0};
  std::mutex first_error_mu;
  std::string first_submit_error;
  std::vector<std::thread> submitters;
  for (int t = 0; t < std::max(1, o.submitters); ++t) {
    submitters.emplace_back([&, t] {
      for (int i = next++; i < o.jobs; i = next++) {
        try {
          job_ids[i] =
              submit_through_gateway(*stubs[t], hosts, kScript, "budget").job_instance_id();
        } catch (const std::exception& e) {
          // The count goes in the result; the first reason to stderr, so a failed smoke run
          // says why (one CI run saw 13 of 20 submits fail and could not tell).
          if (submit_errors++ == 0) {
            std::lock_guard<std::mutex> lock(first_error_mu);
            first_submit_error = e.what();
          }
        }
      }
    });
  }
  for (auto& t : submitters) t.join();
  StreamSet streams;
  const int every = std::max(1, o.watch_every);
  for (int i = 0; i < o.jobs; i += every) {
    if (job_ids[i] != 0) streams.open(stubs[i % stubs.size()].get(), job_ids[i], deadline);
  }
  streams.wait_all();
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  const std::int64_t last_s = unix_ms() / 1000;
  int done = 0;
  int errors = submit_errors.load();
  std::vector<double> lags;
  if (!first_submit_error.empty()) {
    std::fprintf(stderr, "budget jobgw: %d submits failed, first: %s\n", submit_errors.load(),
                 first_submit_error.c_str());
  }
  bool stream_error_shown = false;
  for (const auto& s : streams.streams()) {
    if (!s->finished()) {
      if (!stream_error_shown) {
        std::fprintf(stderr, "budget jobgw: a stream ended without FINISHED: code %d %s\n",
                     static_cast<int>(s->status().error_code()),
                     s->status().error_message().c_str());
        stream_error_shown = true;
      }
      ++errors;
      continue;
    }
    ++done;
    lags.push_back(static_cast<double>(s->seen().finished_ms - s->end_time_ms()));
  }
  return result("jobgw", o, first_s, last_s, jobsim_stats(o.jobsim_port), std::move(lags), done,
                errors, wall_s);
}

}  // namespace jobgw::bench
