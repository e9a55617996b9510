#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "bench_stats.h"

namespace jobgw::bench {

namespace {

std::string fmt(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string out = buf;
  // -0.001 printed with one decimal is "-0.0": zero.
  if (out[0] == '-' && out.find_first_not_of("-0.") == std::string::npos) out.erase(0, 1);
  return out;
}

// 20 → "20", 0.25 → "0.25".
std::string seconds(double s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

void report_fanin(const std::vector<nlohmann::json>& rows, std::ostream& out) {
  // Group by mode + interval; within a group, by K.
  std::map<std::string, std::map<int, nlohmann::json>> groups;
  for (const auto& r : rows) {
    std::string name =
        r["mode"] == "jobgw"
            ? std::string("jobgw (WatchStatus streams)")
            : "baseline, poll every " + seconds(r["interval_ms"].get<double>() / 1000.0) + " s";
    groups[name][r["k"].get<int>()] = r;
  }
  out << "## Scenario 1: fan-in\n\n"
      << "K callers follow one job to its end, then fetch its logs. JOB status reads of that "
         "job are counted by jobsim (`status_reads`); a job-second is a second of the job's "
         "`total_time`. Notice lag: from the job's `end_time` to the caller seeing it "
         "finished.\n\n";
  for (const auto& [name, by_k] : groups) {
    out << "### " << name << "\n\n"
        << "| K | job ms | status reads | reads / job-s | reads vs K=1 | log reads | notice lag "
           "p50 ms | notice lag max ms | callers done | errors |\n"
        << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    double base = by_k.begin()->second["status_reads"].get<double>();
    for (const auto& [k, r] : by_k) {
      double reads = r["status_reads"].get<double>();
      out << "| " << k << " | " << r["job_ms"] << " | " << r["status_reads"] << " | "
          << fmt(r["reads_per_job_second"].get<double>()) << " | "
          << (base > 0 ? fmt(reads / base) + "×" : "—") << " | " << r["log_reads"] << " | "
          << fmt(r["notice_lag_ms_p50"].get<double>(), 0) << " | "
          << fmt(r["notice_lag_ms_max"].get<double>(), 0) << " | " << r["callers_done"] << " | "
          << r["errors"] << " |\n";
    }
    out << "\n";
    if (name.rfind("jobgw", 0) == 0 && by_k.size() > 1) {
      double top = by_k.rbegin()->second["status_reads"].get<double>();
      out << "Target: reads with K=" << by_k.rbegin()->first
          << " ≤ 1.1 × reads with K=" << by_k.begin()->first << ": " << fmt(top, 0) << " vs "
          << fmt(1.1 * base, 1) << " → **" << (top <= 1.1 * base ? "met" : "not met") << "**.\n\n";
    }
  }
}

using UnaryCells = std::map<std::pair<std::string, int>, std::map<std::string, nlohmann::json>>;

// GetJobStatus answered by jobgw_floor (gRPC alone, a canned snapshot) beside jobgw and jobsim's
// direct answer: what of jobgw's CPU per call is gRPC's, and whether the target can be met at all.
void report_unary_floor(const UnaryCells& cells, std::ostream& out) {
  std::vector<std::pair<int, const std::map<std::string, nlohmann::json>*>> rows;
  for (const auto& [key, by_target] : cells) {
    if (key.first == "status" && by_target.count("floor") && by_target.count("jobgw") &&
        by_target.count("direct")) {
      rows.emplace_back(key.second, &by_target);
    }
  }
  if (rows.empty()) return;
  out << "### The gRPC floor\n\n"
      << "`jobgw_floor` (bench/grpc_floor.cc): a JobGateway server on the callback API with "
         "jobgw's server options (4 MiB message limits, deadline checks off, health and "
         "reflection services) whose GetJobStatus copies a canned 5-host JobSnapshot into the "
         "answer; nothing else. Loaded by the same client, channels and closed loop, in a round "
         "of its own after each jobgw round. CPU (µs per call, user + system, warm-up included) "
         "and context switches per call of each server process, from /proc. jobgw − floor: what "
         "jobgw's own code and hand-offs cost per call; floor − jobsim: how far gRPC alone is "
         "from the CPU target (jobgw's CPU ≤ jobsim's direct), positive when the target is out "
         "of reach.\n\n"
      << "| C | floor req/s | jobgw req/s | floor p50 ms | jobgw p50 ms | jobsim direct CPU | "
         "floor CPU | jobgw CPU | jobgw − floor | floor − jobsim | switches per call: floor / "
         "jobgw | answer bytes: floor / jobgw |\n"
      << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& [c, by_target] : rows) {
    const auto& d = by_target->at("direct");
    const auto& g = by_target->at("jobgw");
    const auto& f = by_target->at("floor");
    const double sim = d.value("jobsim_cpu_us_per_call", 0.0);
    const double floor = f.value("floor_cpu_us_per_call", 0.0);
    const double gw = g.value("jobgw_cpu_us_per_call", 0.0);
    out << "| " << c << " | " << fmt(f.value("rps", 0.0), 0) << " | " << fmt(g.value("rps", 0.0), 0)
        << " | " << fmt(f.value("p50_ms", 0.0), 3) << " | " << fmt(g.value("p50_ms", 0.0), 3)
        << " | " << fmt(sim, 0) << " | " << fmt(floor, 0) << " | " << fmt(gw, 0) << " | "
        << fmt(gw - floor, 0) << " | " << fmt(floor - sim, 0) << " | "
        << fmt(f.value("floor_switches_per_call", 0.0), 1) << " / "
        << fmt(g.value("jobgw_switches_per_call", 0.0), 1) << " | " << f.value("answer_bytes", 0)
        << " / " << g.value("answer_bytes", 0) << " |\n";
  }
  out << "\n";
}

void report_unary(const std::vector<nlohmann::json>& rows, std::ostream& out) {
  UnaryCells cells;
  for (const auto& r : rows) {
    cells[{r["op"].get<std::string>(), r["concurrency"].get<int>()}][r["target"]] = r;
  }
  out << "## Scenario 4: unary overhead\n\n"
      << "Closed loop: C callers, each sends its next request when the previous one answered. "
         "`direct`: straight to jobsim over HTTP/1.1 keep-alive (one connection per caller); "
         "`jobgw`: the same call through jobgw over gRPC (one channel per 16 callers). Rounds "
         "alternate direct and jobgw; samples pooled. Targets: jobgw throughput ≥ 0.7 × direct, "
         "added p50 ≤ 1 ms. JOB req/call: API requests jobsim received per call (jobgw's "
         "ExecuteScript also starts a watch, whose status reads count here).\n\n"
      << "| call | C | direct req/s | jobgw req/s | ratio | direct p50 ms | jobgw p50 ms | added "
         "p50 ms | direct p95 / p99 ms | jobgw p95 / p99 ms | JOB req/call (jobgw) | errors "
         "(direct/jobgw) | target |\n"
      << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  std::vector<std::pair<std::pair<std::string, int>, std::map<std::string, nlohmann::json>>>
      ordered;
  for (const char* op : {"status", "execute"}) {
    for (const auto& [key, by_target] : cells) {
      if (key.first == op && by_target.count("direct") && by_target.count("jobgw")) {
        ordered.emplace_back(key, by_target);
      }
    }
  }
  for (const auto& [key, by_target] : ordered) {
    const auto& d = by_target.at("direct");
    const auto& g = by_target.at("jobgw");
    double ratio =
        d["rps"].get<double>() > 0 ? g["rps"].get<double>() / d["rps"].get<double>() : 0.0;
    double added = g["p50_ms"].get<double>() - d["p50_ms"].get<double>();
    bool met = ratio >= 0.7 && added <= 1.0;
    out << "| " << (key.first == "status" ? "GetJobStatus" : "ExecuteScript") << " | " << key.second
        << " | " << fmt(d["rps"].get<double>(), 0) << " | " << fmt(g["rps"].get<double>(), 0)
        << " | " << fmt(ratio) << " | " << fmt(d["p50_ms"].get<double>(), 3) << " | "
        << fmt(g["p50_ms"].get<double>(), 3) << " | " << fmt(added, 3) << " | "
        << fmt(d["p95_ms"].get<double>(), 3) << " / " << fmt(d["p99_ms"].get<double>(), 3) << " | "
        << fmt(g["p95_ms"].get<double>(), 3) << " / " << fmt(g["p99_ms"].get<double>(), 3) << " | "
        << fmt(g["job_requests_per_call"].get<double>()) << " | " << d["errors"] << " / "
        << g["errors"] << " | " << (met ? "met" : "**not met**") << " |\n";
  }
  out << "\nWhere the CPU goes: CPU time per call (µs, user + system, warm-up included) of the "
         "benchmark client, jobgw and jobsim, read from /proc, and context switches per call "
         "(voluntary + involuntary, every thread, from /proc/PID/task/*/status). Targets for "
         "GetJobStatus: jobgw's own CPU per call ≤ jobsim's when answering it directly, at most "
         "4 context switches per call in jobgw.\n\n"
      << "| call | C | direct: client | direct: jobsim | jobgw: client | jobgw: jobgw | jobgw: "
         "jobsim | extra CPU per call via jobgw | switches per call: jobsim direct / jobgw | "
         "target |\n"
      << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  auto us = [](const nlohmann::json& r, const char* key) { return r.value(key, 0.0); };
  for (const auto& [key, by_target] : ordered) {
    const auto& d = by_target.at("direct");
    const auto& g = by_target.at("jobgw");
    double direct_total = us(d, "client_cpu_us_per_call") + us(d, "jobsim_cpu_us_per_call");
    double gw_total = us(g, "client_cpu_us_per_call") + us(g, "jobgw_cpu_us_per_call") +
                      us(g, "jobsim_cpu_us_per_call");
    out << "| " << (key.first == "status" ? "GetJobStatus" : "ExecuteScript") << " | " << key.second
        << " | " << fmt(us(d, "client_cpu_us_per_call"), 0) << " | "
        << fmt(us(d, "jobsim_cpu_us_per_call"), 0) << " | "
        << fmt(us(g, "client_cpu_us_per_call"), 0) << " | "
        << fmt(us(g, "jobgw_cpu_us_per_call"), 0) << " | "
        << fmt(us(g, "jobsim_cpu_us_per_call"), 0) << " | " << fmt(gw_total - direct_total, 0)
        << " | " << fmt(us(d, "jobsim_switches_per_call"), 1) << " / "
        << fmt(us(g, "jobgw_switches_per_call"), 1) << " | ";
    if (key.first != "status") {
      out << "— |\n";
      continue;
    }
    std::vector<std::string> missed;
    if (us(g, "jobgw_cpu_us_per_call") > us(d, "jobsim_cpu_us_per_call")) {
      missed.push_back("CPU ≤ jobsim's");
    }
    if (!g.contains("jobgw_switches_per_call") || us(g, "jobgw_switches_per_call") > 4.0) {
      missed.push_back("≤ 4 switches");
    }
    std::string verdict = "met";
    for (std::size_t i = 0; i < missed.size(); ++i) {
      verdict = (i == 0 ? "**not met**: " : verdict + ", ") + missed[i];
    }
    out << verdict << " |\n";
    if (!by_target.count("floor")) continue;
    const auto& f = by_target.at("floor");
    out << "| gRPC floor (canned answer) | " << key.second << " | — | — | "
        << fmt(us(f, "client_cpu_us_per_call"), 0) << " | "
        << fmt(us(f, "floor_cpu_us_per_call"), 0) << " | — | — | "
        << fmt(us(d, "jobsim_switches_per_call"), 1) << " / "
        << fmt(us(f, "floor_switches_per_call"), 1) << " | — |\n";
  }
  out << "\n";
  report_unary_floor(cells, out);
}

std::string ms3(const nlohmann::json& p) {
  return fmt(p.value("p50", 0.0), 0) + " / " + fmt(p.value("p95", 0.0), 0) + " / " +
         fmt(p.value("p99", 0.0), 0);
}

std::string mib(const nlohmann::json& r, const char* key) {
  return fmt(r.value(key, 0.0) / 1024.0, 1);
}

void report_budget(const std::vector<nlohmann::json>& rows, std::ostream& out) {
  out << "## Scenario 2: many jobs under a JOB read budget\n\n"
      << "Concurrent one-host jobs (jobsim synthetic, durations uniform over the range run.sh "
         "gives), one caller following each to its end. JOB status reads counted by jobsim per "
         "wall-clock second (job list reads included: jobgw's sweeps make them under the same "
         "budget), from the first submit to the last caller done. Notice lag: job "
         "`end_time` to the caller seeing it finished; p95 / p50 says how evenly the budget "
         "is shared among the watched jobs. Targets (jobgw): no second over the budget by more "
         "than 5 %, every FINISHED arrives, median notice lag < 2 × the poll ceiling, notice lag "
         "p95 ≤ 2 × p50. The \"1 in N watched\" row submits as many jobs but follows only every "
         "Nth (the rest are left to jobgw, as services that never watch do): its lag and "
         "done count are the watched jobs', its reads all jobs' until the last watched one "
         "ended; jobs nobody watches wait for their reads behind watched ones.\n\n"
      << "| caller | jobs | done | errors | status reads | max reads in a second | mean reads/s "
         "| seconds over budget + 5 % | notice lag p50 / p95 / max ms | lag p95 / p50 | target "
         "|\n"
      << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& r : rows) {
    const auto& reads = r["reads"];
    const bool gw = r["mode"] == "jobgw";
    const double budget = r.value("budget_per_s", 50.0);
    const double lag = r.value("notice_lag_ms_p50", 0.0);
    const double lag_p95 = r.value("notice_lag_ms_p95", 0.0);
    const double spread = lag > 0 ? lag_p95 / lag : 0.0;
    std::string target = "—";
    if (gw) {
      // Each part on its own, so a miss says which.
      std::vector<std::string> missed;
      if (reads.value("max_reads_per_s", 0.0) > budget * 1.05) missed.push_back("budget + 5 %");
      if (r["callers_done"] != r.value("watched", r["jobs"].get<int>())) {
        missed.push_back("every FINISHED");
      }
      if (lag >= 2.0 * r.value("ceiling_ms", 5000)) missed.push_back("median lag");
      if (lag <= 0 || lag_p95 > 2.0 * lag) missed.push_back("p95 ≤ 2 × p50");
      target = "met";
      for (std::size_t i = 0; i < missed.size(); ++i) {
        target = (i == 0 ? "**not met**: " : target + ", ") + missed[i];
      }
    }
    out << "| "
        << (gw ? "jobgw (budget " + fmt(budget, 0) + "/s)" +
                     (r.value("watch_every", 1) > 1
                          ? ", 1 in " + std::to_string(r.value("watch_every", 1)) + " watched"
                          : std::string())
               : "baseline, poll every " + seconds(r["interval_ms"].get<double>() / 1000.0) + " s")
        << " | " << r["jobs"] << " | " << r["callers_done"] << " | " << r["errors"] << " | "
        << reads["total_reads"] << " | " << fmt(reads.value("max_reads_per_s", 0.0), 0) << " | "
        << fmt(reads.value("mean_reads_per_s", 0.0), 1) << " | "
        << reads["seconds_over_budget_5pct"] << " / " << reads["seconds"] << " | " << fmt(lag, 0)
        << " / " << fmt(lag_p95, 0) << " / " << fmt(r.value("notice_lag_ms_max", 0.0), 0) << " | "
        << (lag > 0 ? fmt(spread) + "×" : std::string("—")) << " | " << target << " |\n";
  }
  out << "\n";
}

void report_latency(const std::vector<nlohmann::json>& rows, std::ostream& out) {
  out << "## Scenario 3: notification latency\n\n"
      << "Jobs of a few seconds submitted at a steady rate; each caller follows its job. Delay "
         "from jobsim's own timestamp of a change (job `start_time`, host `end_time`, job "
         "`end_time`) to the caller seeing it, p50 / p95 / p99 ms, changes within the job's "
         "first `young_ms`. `start` includes the submit round trip. Targets: with the callback, "
         "finish p99 ≤ 100 ms; without, host and finish p99 ≤ poll floor + 100 ms.\n\n"
         "Progress only: streams asking for `WATCH_DETAIL_PROGRESS` (the job's progress and "
         "end, no host changes, so no host delay), callback on, jobs of one length each (jobsim "
         "durations uniform within ± 0.5 s of it, every change counted however old), a fresh "
         "jobgw per length. jobgw reads such a job on its slow safety schedule only once a "
         "callback has reached it, so each first runs one warm-up job (its step times out after "
         "1 s) to its end; the warm-up's reads are not counted. Targets: status reads per job ≤ "
         "3, finish p99 ≤ 50 ms.\n\n"
      << "| caller | jobs | start | host final | finish | status reads / job | missed | errors "
         "| target |\n"
      << "|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& r : rows) {
    const bool gw = r["mode"] == "jobgw";
    const bool progress = r.value("detail", std::string()) == "progress";
    std::string name =
        gw ? "jobgw, " + r.value("label", std::string("?"))
           : "baseline, poll every " + seconds(r["interval_ms"].get<double>() / 1000.0) + " s";
    if (r.value("duration_ms", 0) > 0) {
      name += ", " + seconds(r["duration_ms"].get<double>() / 1000.0) + " s jobs";
    }
    std::string target = "—";
    if (progress) {
      const double reads = r.value("status_reads_per_job", 0.0);
      const double finish = r["finish"].value("p99", 0.0);
      const bool met = reads <= 3.0 && finish <= 50.0 && r["finish"].value("n", 0) > 0;
      target = std::string(met ? "met" : "**not met**") + " (reads / job ≤ 3, finish p99 ≤ 50)";
    } else if (gw) {
      const double finish = r["finish"].value("p99", 0.0);
      const double host = r["host"].value("p99", 0.0);
      const double floor = r.value("floor_ms", 200.0);
      const bool callback =
          r.value("label", std::string()).find("callback on") != std::string::npos;
      const bool met = callback ? finish <= 100.0 : (finish <= floor + 100 && host <= floor + 100);
      target = std::string(met ? "met" : "**not met**") +
               (callback ? " (finish p99 ≤ 100)" : " (p99 ≤ " + fmt(floor + 100, 0) + ")");
    }
    out << "| " << name << " | " << r["jobs"] << " | " << ms3(r["start"]) << " | "
        << (progress ? std::string("—") : ms3(r["host"])) << " | " << ms3(r["finish"]) << " | "
        << fmt(r.value("status_reads_per_job", 0.0), 1) << " | " << r["missed_changes"] << " | "
        << r["errors"] << " | " << target << " |\n";
  }
  out << "\n";
}

void report_streams(const std::vector<nlohmann::json>& rows, std::ostream& out) {
  out << "## Scenario 5: stream scale\n\n"
      << "WatchStatus streams over many gRPC connections on one jobgw, spread over jobs of a "
         "fixed duration. RSS from /proc (jobgw's VmRSS): before, with every stream open, and "
         "after all ended. Idle CPU: jobgw's CPU (every thread's time on CPU as the scheduler "
         "counts it, "
         "/proc/PID/task/*/schedstat, exact where utime + stime come in 10 ms ticks) over a window "
         "after the jobs' young period, while nothing changes and every job is read at the ceiling "
         "interval; per read: that CPU over the JOB status reads jobsim counted in the window, "
         "which is all jobgw should spend on then. Fan-out: each stream's receive time of "
         "FINISHED minus the event's `observed_at_ms` (jobgw's clock, same machine). Targets: "
         "≤ 20 KiB per stream, idle CPU ≤ 1 % of a core, fan-out p99 ≤ 1 s.\n\n"
      << "| streams | channels | jobs | opened | open s | RSS before / open / after MiB | KiB per "
         "stream | idle CPU % | idle reads/s | idle CPU ms per read | switches per read | fan-out "
         "p50 / p99 / max ms | done | errors | target |\n"
      << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  std::vector<double> idle_percent;
  std::vector<double> per_read;
  for (const auto& r : rows) {
    const double per_stream = r.value("rss_per_stream_kib", 0.0);
    const double p99 = r.value("fanout_ms_p99", 0.0);
    const double idle = r.value("idle_cpu_percent", 0.0);
    const bool idle_valid = r.value("idle_valid", true);
    const bool met =
        per_stream <= 20.0 && p99 <= 1000.0 && idle_valid && idle <= 1.0 && r["errors"] == 0;
    idle_percent.push_back(idle);
    per_read.push_back(r.value("idle_cpu_ms_per_read", 0.0));
    out << "| " << r["streams"] << " | " << r["channels"] << " | " << r["jobs"] << " | "
        << r["opened"] << " | " << fmt(r.value("open_s", 0.0), 1) << " | "
        << mib(r, "rss_before_kib") << " / " << mib(r, "rss_open_kib") << " / "
        << mib(r, "rss_after_kib") << " | " << fmt(per_stream, 1) << " | " << fmt(idle, 2)
        << (idle_valid ? "" : " (a stream ended in the window)") << " | "
        << fmt(r.value("idle_reads_per_s", 0.0), 1) << " | " << fmt(per_read.back(), 2) << " | "
        << fmt(r.value("idle_switches_per_read", 0.0), 1) << " | "
        << fmt(r.value("fanout_ms_p50", 0.0), 0) << " / " << fmt(p99, 0) << " / "
        << fmt(r.value("fanout_ms_max", 0.0), 0) << " | " << r["callers_done"] << " | "
        << r["errors"] << " | " << (met ? "met" : "**not met**") << " |\n";
  }
  out << "\n";
  if (rows.size() > 1) {
    // Several runs (STREAM_RUNS in run.sh), each on a fresh jobsim and jobgw: the spread says how
    // noisy the machine was.
    auto list = [](const std::vector<double>& v, int decimals) {
      std::string s;
      for (std::size_t i = 0; i < v.size(); ++i) s += (i > 0 ? " / " : "") + fmt(v[i], decimals);
      return s;
    };
    const double worst = *std::max_element(idle_percent.begin(), idle_percent.end());
    out << rows.size() << " runs: idle CPU " << list(idle_percent, 2) << " %, per JOB read "
        << list(per_read, 2) << " ms; worst " << fmt(worst, 2) << " % → "
        << (worst <= 1.0 ? "met" : "**not met**") << " (≤ 1 % in every run).\n\n";
  }
}

void report_bigjob(const std::vector<nlohmann::json>& rows, std::ostream& out) {
  out << "## Scenario 6: big job\n\n"
      << "One job on many hosts, run several times on one jobgw (finished jobs leave jobgw after "
         "1 s here). Parse: jobgw's codec (`JobCodec::decode_job_status`) on the job's final "
         "status answer, mean of several rounds. Events and bytes: what one WatchStatus stream "
         "received. Logs: GetIpLogs for every host (16 KiB each; jobgw's message limit set to "
         "4 MiB), following `next_page_token`. RSS: jobgw's, "
         "before the first run, at the first run's peak, and after each run once the job left. "
         "Targets: completes; every page under the gRPC message limit; memory back to its level "
         "after each run (no growth per run, counted from the second run).\n\n"
      << "| hosts | status JSON KiB | parse ms | events | event KiB (max one) | log pages | log "
         "hosts (truncated) | log KiB (max page) | logs ms | RSS before / peak MiB | RSS after "
         "each run MiB | growth per run KiB | errors |\n"
      << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n";
  for (const auto& r : rows) {
    std::string after;
    for (const auto& kib : r.value("rss_after_rounds_kib", nlohmann::json::array())) {
      after += (after.empty() ? "" : ", ") + fmt(kib.get<double>() / 1024.0, 1);
    }
    out << "| " << r["hosts"] << " | " << fmt(r.value("status_json_bytes", 0.0) / 1024.0, 0)
        << " | " << fmt(r.value("parse_ms", 0.0), 2) << " | " << r["events"] << " | "
        << fmt(r.value("event_bytes", 0.0) / 1024.0, 0) << " ("
        << fmt(r.value("max_event_bytes", 0.0) / 1024.0, 0) << ") | " << r["log_pages"] << " | "
        << r["log_hosts"] << " (" << r.value("truncated_hosts", 0) << ") | "
        << fmt(r.value("log_bytes", 0.0) / 1024.0, 0) << " ("
        << fmt(r.value("max_page_bytes", 0.0) / 1024.0, 0) << ") | "
        << fmt(r.value("logs_ms", 0.0), 0) << " | " << mib(r, "rss_before_kib") << " / "
        << mib(r, "rss_peak_kib") << " | " << after << " | "
        << fmt(r.value("rss_growth_per_round_kib", 0.0), 0) << " | " << r["errors"] << " |\n";
  }
  out << "\n";
}

std::vector<nlohmann::json> part(const std::vector<nlohmann::json>& rows, const char* name) {
  std::vector<nlohmann::json> out;
  for (const auto& r : rows) {
    if (r.value("part", "") == name) out.push_back(r);
  }
  return out;
}

double num(const nlohmann::json& r, const char* key) {
  return r.contains(key) && r[key].is_number() ? r[key].get<double>() : 0.0;
}

// "a / b / c" of a summary object's p50, p99 and max.
std::string p50_p99_max(const nlohmann::json& p, int decimals = 1) {
  return fmt(num(p, "p50"), decimals) + " / " + fmt(num(p, "p99"), decimals) + " / " +
         fmt(num(p, "max"), decimals);
}

void report_replicas(const std::vector<nlohmann::json>& rows, std::ostream& out) {
  out << "## Scenario 7: replicas\n\n"
      << "jobgw replicas sharing one Redis (`state.redis_url`, `state.replicas=3`; Redis on "
         "127.0.0.1, nothing saved) against one jobgw without Redis, jobsim behind both. Each part "
         "runs on fresh processes.\n\n";

  if (auto fanin = part(rows, "fanin"); !fanin.empty()) {
    std::map<int, std::map<int, nlohmann::json>> by_k;  // K -> replicas -> row
    for (const auto& r : fanin) by_k[r["k"].get<int>()][r["replicas"].get<int>()] = r;
    out << "### Fan-in: one jobgw vs three replicas\n\n"
        << "K WatchStatus streams of one job of fixed duration, submitted through the first "
           "replica; stream i on replica i mod R. Status reads: JOB status reads of that job "
           "(jobsim `status_reads`); by replica: each replica's successful "
           "`get_job_instance_status` attempts (`jobgw_job_http_attempts_total`) over the run. "
           "Notice lag: job `end_time` to the stream seeing FINISHED. Target: 3 replicas ≤ "
           "1.1 × the reads of 1 replica, at every K.\n\n"
        << "| K | replicas | job ms | status reads | vs 1 replica | reads by replica | notice lag "
           "p50 ms | notice lag max ms | streams done | errors | target |\n"
        << "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|\n";
    for (const auto& [k, by_r] : by_k) {
      const double base = by_r.count(1) ? num(by_r.at(1), "status_reads") : 0.0;
      for (const auto& [n, r] : by_r) {
        const double reads = num(r, "status_reads");
        std::string spread;
        for (const auto& v : r.value("reads_by_replica", nlohmann::json::array())) {
          spread += (spread.empty() ? "" : " / ") + fmt(v.get<double>(), 0);
        }
        std::string target = "—";
        if (n > 1 && base > 0) {
          target = std::string(reads <= 1.1 * base ? "met" : "**not met**") + " (≤ " +
                   fmt(1.1 * base, 1) + ")";
        }
        out << "| " << k << " | " << n << (r.value("redis", false) ? " (Redis)" : " (no Redis)")
            << " | " << r["job_ms"] << " | " << fmt(reads, 0) << " | "
            << (base > 0 ? fmt(reads / base) + "×" : "—") << " | "
            << (spread.empty() ? "—" : spread) << " | " << fmt(num(r, "notice_lag_ms_p50"), 0)
            << " | " << fmt(num(r, "notice_lag_ms_max"), 0) << " | " << r["callers_done"] << " | "
            << r["errors"] << " | " << target << " |\n";
      }
    }
    out << "\n";
  }

  if (auto rounds = part(rows, "failover"); !rounds.empty()) {
    out << "### Failover: the job's owner SIGKILLed\n\n"
        << "Three replicas; a job (longer than the failover) submitted through replica (round mod "
           "3), one stream on every replica. The owner is the lease holder "
           "(`GET jobgw:job:{biz:1:ID}:lease` → `replica#epoch`); it is SIGKILLed a while after "
           "the submit (spread over the 2 s renewal period). Measured from the kill: the lease "
           "naming another replica (Redis polled every 10 ms), and the first JOB status read of "
           "the job after it (jobsim's count for the job, polled every 10 ms; reads in the first "
           "300 ms are the dead owner's, in flight). TTL left: the lease's `PTTL` just before the "
           "kill. Target: kill → first read ≤ lease TTL + one scan (6 s + 1 s).\n\n"
        << "| round | owner (killed) | adopter | kill after submit ms | lease TTL left ms | kill → "
           "new lease ms | kill → first read ms | first read − TTL left ms | job's status reads "
           "(before the kill) | surviving streams finished | errors |\n"
        << "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    std::vector<double> lease, first, after_expiry;
    int errors = 0;
    for (const auto& r : rounds) {
      const double f = num(r, "kill_to_first_read_ms");
      const double ttl = num(r, "lease_ttl_left_ms");
      if (f >= 0) first.push_back(f);
      if (num(r, "kill_to_lease_ms") >= 0) lease.push_back(num(r, "kill_to_lease_ms"));
      if (f >= 0) after_expiry.push_back(f - ttl);
      errors += r.value("errors", 0);
      auto name = [](const nlohmann::json& v) {
        return v.is_number() && v.get<int>() >= 0 ? "jobgw-" + std::to_string(v.get<int>() + 1)
                                                  : std::string("?");
      };
      out << "| " << r["round"] << " | " << name(r["owner"]) << " | " << name(r["adopter"]) << " | "
          << r["kill_after_submit_ms"] << " | " << fmt(ttl, 0) << " | "
          << fmt(num(r, "kill_to_lease_ms"), 0) << " | " << fmt(f, 0) << " | " << fmt(f - ttl, 0)
          << " | " << r.value("status_reads", 0) << " (" << r.value("status_reads_before_kill", 0)
          << ") | " << r["survivors_finished"] << " / " << r["survivor_watchers"] << " | "
          << r["errors"] << " |\n";
    }
    Percentiles pl = percentiles(lease), pf = percentiles(first), pe = percentiles(after_expiry);
    const bool met = !first.empty() && pf.max <= 7000.0 && errors == 0;
    out << "\n| rounds | kill → new lease p50 / max ms | kill → first read p50 / max ms | first "
           "read after the lease expired p50 / max ms | target |\n"
        << "|---:|---:|---:|---:|---|\n"
        << "| " << rounds.size() << " | " << fmt(pl.p50, 0) << " / " << fmt(pl.max, 0) << " | "
        << fmt(pf.p50, 0) << " / " << fmt(pf.max, 0) << " | " << fmt(pe.p50, 0) << " / "
        << fmt(pe.max, 0) << " | " << (met ? "met" : "**not met**")
        << " (≤ 7000 ms: lease TTL 6 s + one 1 s scan; expected 4–7 s: the TTL left at the "
           "kill, 4–6 s as leases are renewed every 2 s, plus up to one scan) |\n\n";
  }

  if (auto redis = part(rows, "redis"); !redis.empty()) {
    out << "### Redis commands per job\n\n"
        << "Short jobs through three replicas (job i submitted through replica i mod 3, its one "
           "stream on replica ⌊i/3⌋ mod 3), at a steady rate. Redis's `INFO commandstats` before "
           "and after (from the first submit until every stream saw FINISHED, plus a settle), "
           "minus the idle rate measured just before over the same length of time, divided by "
           "the jobs. Redis counts the commands a Lua script runs as well as the EVAL itself. "
           "Redis CPU: `used_cpu_user + used_cpu_sys`, idle rate subtracted likewise. Every "
           "replica's adopt scan (once a second) checks each registered job (`EXISTS` of its "
           "lease) and the owner renews its lease every 2 s (`GET`, `PEXPIRE`), so with three "
           "replicas a job costs about four calls more per second of its life: the figures are "
           "for these short jobs.\n\n"
        << "| jobs | hosts | status reads / job | events / job (stream) | Redis calls / job | "
           "Redis calls / job, idle not subtracted | idle calls / s (3 replicas) | Redis CPU ms / "
           "job | done | errors |\n"
        << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& r : redis) {
      out << "| " << r["jobs"] << " | " << r["hosts"] << " | "
          << fmt(num(r, "status_reads_per_job"), 1) << " | " << fmt(num(r, "events_per_job"), 1)
          << " | " << fmt(num(r, "calls_per_job"), 1) << " | "
          << fmt(num(r, "calls_per_job_raw"), 1) << " | " << fmt(num(r, "idle_calls_per_s"), 1)
          << " | " << fmt(num(r, "redis_cpu_ms_per_job"), 2) << " | " << r["callers_done"] << " | "
          << r["errors"] << " |\n";
    }
    out << "\nBy command (idle rate subtracted), with the idle rate of the three replicas:\n\n"
        << "| command | calls / job | idle / s |\n|---|---:|---:|\n";
    const auto& r = redis.back();
    std::vector<std::pair<double, std::string>> order;
    for (const auto& [name, v] : r["calls_per_job_by_command"].items()) {
      order.emplace_back(-v.get<double>(), name);
    }
    std::sort(order.begin(), order.end());
    for (const auto& [neg, name] : order) {
      const double idle = r["idle_calls_per_s_by_command"].value(name, 0.0);
      if (-neg < 0.05 && idle < 0.05) continue;
      // Within the idle rate's noise: shown as about zero.
      out << "| " << name << " | " << (std::abs(neg) < 0.05 ? std::string("≈ 0") : fmt(-neg, 2))
          << " | " << fmt(idle, 2) << " |\n";
    }
    out << "\n";
  }

  if (auto fanout = part(rows, "fanout"); !fanout.empty()) {
    out << "### Added fan-out latency across replicas\n\n"
        << "One job on many hosts whose ends are spread over a few seconds (many HOST_CHANGED "
           "events), submitted through one jobgw alone, or through (and owned by) one of three "
           "replicas; streams on every replica. Fan-out: a change event's receive time minus its "
           "`observed_at_ms` (jobgw's clock, same machine; SNAPSHOTs left out). Added: per change "
           "event, its receive time on a non-owner replica's stream minus the mean receive time "
           "on the owner's streams (one clock, this process, µs). Histogram: the non-owner "
           "replicas' `jobgw_replica_fanout_lag_seconds` over the job (the owner's append to "
           "their hub, per published message), p50 / p99 interpolated within its buckets. The "
           "owner's own streams are fed from Redis too (the owner appends, Redis publishes to "
           "every replica, the owner included), so what replication adds shows against one "
           "jobgw alone, not between owner and non-owners.\n\n"
        << "| replicas | hosts | change events | streams | fan-out on the owner p50 / p99 / max "
           "ms | fan-out on non-owners p50 / p99 / max ms | added, non-owner − owner p50 / p99 / "
           "max ms | histogram: messages, p50 / p99 ms | errors |\n"
        << "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& r : fanout) {
      const bool one = r.value("replicas", 1) == 1;
      const auto& h = r["histogram_nonowner"];
      out << "| " << r["replicas"] << (r.value("redis", false) ? " (Redis)" : " (no Redis)")
          << " | " << r["hosts"] << " | " << r["events"] << " | "
          << r.value("replicas", 1) * r.value("watchers_per_replica", 1) << " | "
          << p50_p99_max(r["owner_fanout_ms"], 0) << " | "
          << (one ? "—" : p50_p99_max(r["nonowner_fanout_ms"], 0)) << " | "
          << (one ? "—" : p50_p99_max(r["added_ms"])) << " | "
          << (one ? "—"
                  : fmt(num(h, "count"), 0) + ", " + fmt(num(h, "p50_ms"), 1) + " / " +
                        fmt(num(h, "p99_ms"), 1))
          << " | " << r["errors"] << " |\n";
    }
    out << "\n";
    const nlohmann::json* alone = nullptr;
    const nlohmann::json* shared = nullptr;
    for (const auto& r : fanout) (r.value("replicas", 1) == 1 ? alone : shared) = &r;
    if (alone && shared) {
      auto pct = [](const nlohmann::json* r, const char* key, const char* p) {
        return num((*r)[key], p);
      };
      out << "Added by replication (three replicas minus one jobgw): fan-out p50 "
          << fmt(pct(shared, "owner_fanout_ms", "p50") - pct(alone, "owner_fanout_ms", "p50"), 0)
          << " ms / p99 "
          << fmt(pct(shared, "owner_fanout_ms", "p99") - pct(alone, "owner_fanout_ms", "p99"), 0)
          << " ms on the owner, p50 "
          << fmt(pct(shared, "nonowner_fanout_ms", "p50") - pct(alone, "owner_fanout_ms", "p50"), 0)
          << " ms / p99 "
          << fmt(pct(shared, "nonowner_fanout_ms", "p99") - pct(alone, "owner_fanout_ms", "p99"), 0)
          << " ms on the non-owners. No target was set.\n\n";
    }
  }
}

void report_web(const std::vector<nlohmann::json>& rows, std::ostream& out) {
  out << "## Scenario 8: web (HTTP/JSON + SSE)\n\n"
      << "jobgw with `http.listen` (its HTTP/JSON + Server-Sent Events face) in front of jobsim "
         "running real scripts; each part on fresh processes.\n\n";

  if (auto watch = part(rows, "watch"); !watch.empty()) {
    out << "### Streams: SSE against gRPC WatchStatus\n\n"
        << "N streams of one running job, opened as SSE (`GET /v1/scopes/biz/1/jobs/{job}/events`, "
           "HTTP/1.1, one TCP connection each, read by one epoll thread) or as gRPC `WatchStatus` "
           "(the callback API over a few connections). The job's hosts wait for a gate file, so "
           "every stream is open before anything changes; then host i ends i × step after the "
           "gate, and FINISHED ends the streams. RSS: jobgw's VmRSS with every stream open minus "
           "before (the job already watched). CPU: jobgw's utime + stime from the gate to the "
           "last stream's end, per event delivered in that window (jobgw's few JOB reads of the "
           "job included, the same for both). Bytes per event: SSE, every byte read off the "
           "sockets (HTTP head, chunk framing, `id:`/`event:` lines, the JSON, the `end` event) "
           "over the events; gRPC, the protobuf size of the messages (an approximation: gRPC adds "
           "a 5-byte prefix and HTTP/2 a 9-byte frame header per message). Fan-out: FINISHED's "
           "receive time minus its `observed_at_ms` (jobgw's clock, same machine).\n\n"
        << "| face | streams | connections | hosts | opened | open s | RSS before / open MiB | "
           "KiB per stream | events (after the gate) | jobgw CPU ms | CPU µs per event | bytes "
           "per event | fan-out p50 / p99 / max ms | done | errors |\n"
        << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    const nlohmann::json* by_face[2] = {nullptr, nullptr};  // sse, grpc
    for (const auto& r : watch) {
      const bool sse = r.value("transport", "") == "sse";
      by_face[sse ? 0 : 1] = &r;
      std::string bytes = fmt(num(r, "bytes_per_event"), 0);
      if (sse) bytes += " (JSON " + fmt(num(r, "json_bytes_per_event"), 0) + ")";
      out << "| " << (sse ? "SSE (HTTP/1.1)" : "gRPC WatchStatus") << " | " << r["streams"] << " | "
          << r["connections"] << " | " << r["hosts"] << " | " << r["opened"] << " | "
          << fmt(num(r, "open_s"), 1) << " | " << mib(r, "rss_before_kib") << " / "
          << mib(r, "rss_open_kib") << " | " << fmt(num(r, "rss_per_stream_kib"), 1) << " | "
          << r["events"] << " (" << r["events_after_gate"] << ") | " << fmt(num(r, "cpu_ms"), 0)
          << " | " << fmt(num(r, "cpu_us_per_event"), 1) << " | " << bytes << " | "
          << fmt(num(r, "fanout_ms_p50"), 0) << " / " << fmt(num(r, "fanout_ms_p99"), 0) << " / "
          << fmt(num(r, "fanout_ms_max"), 0) << " | " << r["callers_done"] << " | " << r["errors"]
          << " |\n";
    }
    out << "\n";
    if (by_face[0] && by_face[1]) {
      const auto& s = *by_face[0];
      const auto& g = *by_face[1];
      auto ratio = [&](const char* key) {
        return num(g, key) > 0 ? fmt(num(s, key) / num(g, key)) + "×" : std::string("—");
      };
      out << "SSE against gRPC: RSS per stream " << ratio("rss_per_stream_kib")
          << ", CPU per event " << ratio("cpu_us_per_event") << ", bytes per event "
          << ratio("bytes_per_event") << "; FINISHED fan-out p50 "
          << fmt(num(s, "fanout_ms_p50") - num(g, "fanout_ms_p50"), 0) << " ms / p99 "
          << fmt(num(s, "fanout_ms_p99") - num(g, "fanout_ms_p99"), 0)
          << " ms later over SSE (negative: earlier). No target was set.\n\n";
    }
  }

  if (auto follow = part(rows, "follow"); !follow.empty()) {
    std::map<int, nlohmann::json> by_k;
    for (const auto& r : follow) by_k[r["k"].get<int>()] = r;
    const double base = num(by_k.begin()->second, "log_reads");
    out << "### Follow cost: K followers of one step\n\n"
        << "K gRPC `FollowLogs` followers of one step, opened right after the submit: a job on 3 "
           "hosts printing a line every "
        << fmt(num(by_k.begin()->second, "line_ms"), 0) << " ms, " << by_k.begin()->second["lines"]
        << " times. Log reads: jobsim's "
           "`batch_get_job_instance_ip_log` requests from the submit until every follower ended "
           "(plus a settle); expected about the job's seconds ÷ `follow.interval_ms`, whatever K. "
           "Each follower's text of each host (TEXT events in order, offsets contiguous) must be "
           "the host's final `log_content` (jobsim, read afterwards), byte for byte.\n\n"
        << "| K | job s | follow interval ms | log reads | expected | reads vs K=1 | status reads "
           "of the job | final log bytes | bytes per follower min / max | followers equal | "
           "errors |\n"
        << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& [k, r] : by_k) {
      const double reads = num(r, "log_reads");
      out << "| " << k << " | " << fmt(num(r, "job_ms") / 1000.0, 1) << " | "
          << r["follow_interval_ms"] << " | " << fmt(reads, 0) << " | "
          << fmt(num(r, "expected_log_reads"), 1) << " | "
          << (base > 0 ? fmt(reads / base) + "×" : "—") << " | " << r["status_reads"] << " | "
          << r["final_log_bytes"] << " | " << r["follower_bytes_min"] << " / "
          << r["follower_bytes_max"] << " | " << r["followers_equal"] << " / " << k << " | "
          << r["errors"] << " |\n";
    }
    out << "\n";
  }
}

// Scenario 4's watched-job rows (op "watched"), a table of their own.
void report_unary_watched(const std::vector<nlohmann::json>& rows, std::ostream& out) {
  std::map<int, std::map<std::string, nlohmann::json>> by_c;
  for (const auto& r : rows) {
    if (r.value("op", "") == "watched") by_c[r["concurrency"].get<int>()][r["target"]] = r;
  }
  if (by_c.empty()) return;
  out << "### GetJobStatus of a job jobgw watches\n\n"
      << "A long job submitted through jobgw, a WatchStatus stream open on it for the whole run "
         "(callback off; jobgw at its defaults, so GetJobStatus answers from the watch's "
         "snapshot while its next read is not overdue); the same closed loop and rounds as "
         "above, `direct` reading the same job straight from jobsim. JOB reads: jobsim's reads "
         "of the job during the jobgw rounds, against the watch's own reads during the direct "
         "rounds of the same length (jobsim's reads of the job there minus the direct calls); "
         "added reads per call: the difference over the jobgw calls. Targets: no read added by "
         "the calls (at most one poll of difference per round), jobgw throughput ≥ 1.0 × "
         "direct.\n\n"
      << "| C | direct req/s | jobgw req/s | ratio | direct p50 ms | jobgw p50 ms | jobgw p95 / "
         "p99 ms | JOB reads during jobgw rounds | watch's reads during direct rounds | added "
         "reads per call | errors (direct/jobgw) | target |\n"
      << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& [c, by_target] : by_c) {
    if (!by_target.count("direct") || !by_target.count("jobgw")) continue;
    const auto& d = by_target.at("direct");
    const auto& g = by_target.at("jobgw");
    const double d_rps = d.value("rps", 0.0);
    const double ratio = d_rps > 0 ? g.value("rps", 0.0) / d_rps : 0.0;
    const std::int64_t reads = g.value("job_reads_during_calls", std::int64_t{0});
    const std::int64_t watch = g.value("watch_reads_during_direct", std::int64_t{0});
    const bool no_added = reads - watch <= g.value("rounds", 1);
    const bool met = no_added && ratio >= 1.0 && d.value("errors", 0) == 0 &&
                     g.value("errors", 0) == 0 && g.value("ok", 0) > 0;
    out << "| " << c << " | " << fmt(d_rps, 0) << " | " << fmt(g.value("rps", 0.0), 0) << " | "
        << fmt(ratio) << " | " << fmt(d.value("p50_ms", 0.0), 3) << " | "
        << fmt(g.value("p50_ms", 0.0), 3) << " | " << fmt(g.value("p95_ms", 0.0), 3) << " / "
        << fmt(g.value("p99_ms", 0.0), 3) << " | " << reads << " | " << watch << " | "
        << fmt(g.value("added_reads_per_call", 0.0), 4) << " | " << d["errors"] << " / "
        << g["errors"] << " | " << (met ? "met" : "**not met**")
        << (met ? "" : std::string(no_added ? " (throughput)" : " (reads added)")) << " |\n";
  }
  out << "\n";
}

void report_sweep(const std::vector<nlohmann::json>& rows, std::ostream& out) {
  // By nominal length; within one, by caller (jobgw first, then the pollers by interval).
  std::map<int, std::map<int, nlohmann::json>> by_duration;
  std::vector<int> intervals;
  for (const auto& r : rows) {
    const int interval = r.value("caller", "") == "jobgw" ? 0 : r.value("interval_ms", 0);
    by_duration[r["duration_ms"].get<int>()][interval] = r;
    if (interval > 0 && std::find(intervals.begin(), intervals.end(), interval) == intervals.end())
      intervals.push_back(interval);
  }
  std::sort(intervals.begin(), intervals.end());
  out << "## Scenario 9: duration sweep\n\n"
      << "Jobs of one nominal length per jobsim (synthetic executor, durations uniform within "
         "± 0.5 s of it, one host), several per length, the lengths side by side, each on its "
         "own jobsim and jobgw (callback off, defaults). Every job has one caller: through jobgw "
         "an `ExecuteScript` and one WatchStatus stream (every host change), or a fixed poller "
         "(submit over HTTP, read right away, then a fixed delay after each answer), all at once. "
         "Status reads per job: jobsim's count of each job's reads. Notice lag: the job's "
         "`end_time` to the caller seeing it finished, p50 / p95 ms. Target: jobgw's lag below "
         "the 1 s poller's (p50 and p95) for jobs up to 5 s.\n\n"
      << "| jobs of | job s (mean) | jobgw: reads / job | jobgw: lag p50 / p95 ms";
  for (int i : intervals) {
    const std::string who = "poll every " + seconds(i / 1000.0) + " s";
    out << " | " << who << ": reads / job | " << who << ": lag p50 / p95 ms";
  }
  out << " | done | errors | target |\n|---:|---:|---:|---:";
  for (std::size_t i = 0; i < intervals.size(); ++i) out << "|---:|---:";
  out << "|---:|---:|---|\n";
  auto lag = [](const nlohmann::json& r, const char* p) {
    return r["notice_lag_ms"].value(p, 0.0);
  };
  for (const auto& [duration, by_caller] : by_duration) {
    int done = 0, jobs = 0, errors = 0;
    for (const auto& [interval, r] : by_caller) {
      done += r.value("callers_done", 0);
      jobs += r.value("jobs", 0);
      errors += r.value("errors", 0);
    }
    const nlohmann::json* gw = by_caller.count(0) ? &by_caller.at(0) : nullptr;
    const nlohmann::json* second = by_caller.count(1000) ? &by_caller.at(1000) : nullptr;
    out << "| " << seconds(duration / 1000.0) << " s | "
        << (gw ? fmt(gw->value("job_ms_mean", 0.0) / 1000.0, 1) : std::string("—"));
    auto cells = [&](const nlohmann::json* r) {
      if (!r) return std::string(" | — | —");
      return " | " + fmt(r->value("status_reads_per_job", 0.0), 1) + " | " +
             fmt(lag(*r, "p50"), 0) + " / " + fmt(lag(*r, "p95"), 0);
    };
    out << cells(gw);
    for (int i : intervals) out << cells(by_caller.count(i) ? &by_caller.at(i) : nullptr);
    std::string target = "—";
    if (duration <= 5000 && gw && second) {
      const bool met = gw->value("callers_done", 0) > 0 &&
                       gw->value("callers_done", 0) == gw->value("jobs", 0) &&
                       lag(*gw, "p50") < lag(*second, "p50") &&
                       lag(*gw, "p95") < lag(*second, "p95");
      target = std::string(met ? "met" : "**not met**") + " (lag < 1 s poller's)";
    }
    out << " | " << done << " / " << jobs << " | " << errors << " | " << target << " |\n";
  }
  out << "\n";
}

std::vector<nlohmann::json> of(const std::vector<nlohmann::json>& rows, const char* scenario) {
  std::vector<nlohmann::json> out;
  for (const auto& r : rows) {
    if (r.value("scenario", "") == scenario) out.push_back(r);
  }
  return out;
}

}  // namespace

void write_report(const std::vector<nlohmann::json>& rows, std::ostream& out) {
  if (auto r = of(rows, "fanin"); !r.empty()) report_fanin(r, out);
  if (auto r = of(rows, "budget"); !r.empty()) report_budget(r, out);
  if (auto r = of(rows, "latency"); !r.empty()) report_latency(r, out);
  if (auto r = of(rows, "unary"); !r.empty()) {
    report_unary(r, out);
    report_unary_watched(r, out);
  }
  if (auto r = of(rows, "streams"); !r.empty()) report_streams(r, out);
  if (auto r = of(rows, "bigjob"); !r.empty()) report_bigjob(r, out);
  if (auto r = of(rows, "replicas"); !r.empty()) report_replicas(r, out);
  if (auto r = of(rows, "web"); !r.empty()) report_web(r, out);
  if (auto r = of(rows, "sweep"); !r.empty()) report_sweep(r, out);
}

std::vector<std::string> smoke_failures(const std::vector<nlohmann::json>& rows) {
  std::vector<std::string> failures;
  for (const auto& r : rows) {
    const std::string what =
        r.value("scenario", "?") + " " + r.value("mode", r.value("target", ""));
    if (r.value("errors", 0) != 0) {
      failures.push_back(what + ": " + std::to_string(r.value("errors", 0)) + " errors " +
                         r.dump());
    }
  }
  // jobgw's reads of the watched job must not follow K (the whole point of the hub). A generous
  // bound: it fails on growth with K, not on a read more or less.
  std::map<int, double> reads_by_k;
  for (const auto& r : of(rows, "fanin")) {
    if (r.value("mode", "") == "jobgw") reads_by_k[r["k"].get<int>()] = r["status_reads"];
  }
  if (reads_by_k.size() > 1) {
    const double first = reads_by_k.begin()->second;
    const double last = reads_by_k.rbegin()->second;
    if (last > 2.0 * first + 2.0) {
      failures.push_back("fanin: jobgw status reads grew with K: " + std::to_string(first) +
                         " at K=" + std::to_string(reads_by_k.begin()->first) + ", " +
                         std::to_string(last) +
                         " at K=" + std::to_string(reads_by_k.rbegin()->first));
    }
  }
  for (const auto& r : of(rows, "budget")) {
    if (r["callers_done"] != r.value("watched", r["jobs"].get<int>())) {
      failures.push_back("budget: not every FINISHED arrived");
    }
  }
  for (const auto& r : of(rows, "sweep")) {
    if (r["callers_done"] != r["jobs"]) {
      failures.push_back("sweep: not every FINISHED arrived (" + r.value("caller", "") + ", " +
                         r["duration_ms"].dump() + " ms jobs)");
    }
  }
  for (const auto& r : of(rows, "latency")) {
    if (r["callers_done"] != r["jobs"]) failures.push_back("latency: not every FINISHED arrived");
  }
  for (const auto& r : of(rows, "unary")) {
    if (r.value("op", "") == "watched" && r.value("target", "") == "jobgw" &&
        !r.value("stream_finished", false)) {
      failures.push_back("unary: the watched job's stream did not end with FINISHED");
    }
  }
  for (const auto& r : of(rows, "bigjob")) {
    if (r["log_hosts"] != r["hosts"]) failures.push_back("bigjob: logs missing for some hosts");
  }
  // Replicas: the reads of a job watched on three replicas must not grow past one jobgw's (the
  // replicas' own one-jobgw row at the same K, else scenario 1's jobgw row of the same job length
  // at its smallest K). As generous as the fan-in bound.
  for (const auto& r : of(rows, "replicas")) {
    if (r.value("part", "") != "fanin" || r.value("replicas", 1) < 2) continue;
    double base = -1;
    for (const auto& one : of(rows, "replicas")) {
      if (one.value("part", "") == "fanin" && one.value("replicas", 0) == 1 && one["k"] == r["k"]) {
        base = one["status_reads"].get<double>();
      }
    }
    if (base < 0) {
      int smallest_k = 0;
      for (const auto& f : of(rows, "fanin")) {
        const double job_ms_apart = f["job_ms"].get<double>() - r["job_ms"].get<double>();
        if (f.value("mode", "") == "jobgw" && std::abs(job_ms_apart) <= 100 &&
            (smallest_k == 0 || f["k"].get<int>() < smallest_k)) {
          smallest_k = f["k"].get<int>();
          base = f["status_reads"].get<double>();
        }
      }
    }
    const double reads = r["status_reads"].get<double>();
    if (base >= 0 && reads > 2.0 * base + 2.0) {
      failures.push_back("replicas: " + std::to_string(reads) + " status reads on " +
                         std::to_string(r.value("replicas", 0)) +
                         " replicas at K=" + r["k"].dump() + ", one jobgw " + std::to_string(base));
    }
  }
  return failures;
}

}  // namespace jobgw::bench
