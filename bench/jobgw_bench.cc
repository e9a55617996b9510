// jobgw_bench: load generators for jobgw's benchmark (bench/run.sh drives it).
//
//   jobgw_bench fanin --mode baseline|jobgw --jobsim-port P [--grpc HOST:PORT] --k K
//                     [--interval-ms MS] [--hosts N] [--workers N] [--channels N] [--timeout-s S]
//   jobgw_bench unary --op status|execute --jobsim-port P --grpc HOST:PORT --concurrency C
//                     [--seconds S] [--warmup-seconds S] [--max-requests M] [--rounds R]
//                     [--jobsim-pid PID] [--jobgw-pid PID]
//   jobgw_bench report --in RESULTS.jsonl
//
// fanin and unary print one JSON object per line (a result); report turns a file of them into
// the Markdown tables of bench/RESULTS.md.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanin.h"
#include "unary.h"

namespace jobgw::bench {
namespace {

class Args {
 public:
  Args(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0) throw std::runtime_error("unexpected argument: " + a);
      auto eq = a.find('=');
      if (eq != std::string::npos) {
        values_[a.substr(2, eq - 2)] = a.substr(eq + 1);
      } else if (i + 1 < argc) {
        values_[a.substr(2)] = argv[++i];
      } else {
        throw std::runtime_error("missing value for " + a);
      }
    }
  }
  std::string str(const std::string& key, const std::string& fallback = {}) {
    used_.insert(key);
    auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second;
  }
  std::string required(const std::string& key) {
    std::string v = str(key);
    if (v.empty()) throw std::runtime_error("--" + key + " is required");
    return v;
  }
  long long integer(const std::string& key, long long fallback) {
    std::string v = str(key);
    return v.empty() ? fallback : std::stoll(v);
  }
  double number(const std::string& key, double fallback) {
    std::string v = str(key);
    return v.empty() ? fallback : std::stod(v);
  }
  void check_all_used() const {
    for (const auto& [key, value] : values_) {
      if (!used_.count(key)) throw std::runtime_error("unknown flag --" + key);
    }
  }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> used_;
};

int cmd_fanin(Args& args) {
  FaninOptions o;
  std::string mode = args.required("mode");
  o.jobsim_port = static_cast<int>(args.integer("jobsim-port", 0));
  o.grpc_address = args.str("grpc");
  o.k = static_cast<int>(args.integer("k", 1));
  o.interval_ms = static_cast<int>(args.integer("interval-ms", o.interval_ms));
  o.hosts = static_cast<int>(args.integer("hosts", o.hosts));
  o.workers = static_cast<int>(args.integer("workers", o.workers));
  o.channels = static_cast<int>(args.integer("channels", o.channels));
  o.settle_ms = static_cast<int>(args.integer("settle-ms", o.settle_ms));
  o.timeout_s = static_cast<int>(args.integer("timeout-s", o.timeout_s));
  args.check_all_used();
  if (o.jobsim_port <= 0 || o.k < 1 || o.interval_ms < 1) {
    throw std::runtime_error("need --jobsim-port, --k >= 1, --interval-ms >= 1");
  }
  nlohmann::json out;
  if (mode == "baseline") {
    out = run_fanin_baseline(o);
  } else if (mode == "jobgw") {
    if (o.grpc_address.empty()) throw std::runtime_error("--grpc is required with --mode jobgw");
    out = run_fanin_gateway(o);
  } else {
    throw std::runtime_error("--mode: baseline or jobgw");
  }
  std::cout << out.dump() << std::endl;
  return 0;
}

int cmd_unary(Args& args) {
  UnaryOptions o;
  o.op = args.str("op", o.op);
  o.jobsim_port = static_cast<int>(args.integer("jobsim-port", 0));
  o.grpc_address = args.required("grpc");
  o.concurrency = static_cast<int>(args.integer("concurrency", o.concurrency));
  o.seconds = args.number("seconds", o.seconds);
  o.warmup_seconds = args.number("warmup-seconds", o.warmup_seconds);
  o.max_requests = args.integer("max-requests", o.max_requests);
  o.rounds = static_cast<int>(args.integer("rounds", o.rounds));
  o.hosts = static_cast<int>(args.integer("hosts", o.hosts));
  o.jobsim_pid = static_cast<int>(args.integer("jobsim-pid", 0));
  o.jobgw_pid = static_cast<int>(args.integer("jobgw-pid", 0));
  args.check_all_used();
  if (o.jobsim_port <= 0 || o.concurrency < 1 || o.seconds <= 0) {
    throw std::runtime_error("need --jobsim-port, --concurrency >= 1, --seconds > 0");
  }
  for (const auto& row : run_unary(o)) std::cout << row.dump() << std::endl;
  return 0;
}

std::string fmt(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
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

void report_unary(const std::vector<nlohmann::json>& rows, std::ostream& out) {
  std::map<std::pair<std::string, int>, std::map<std::string, nlohmann::json>> cells;
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
         "benchmark client, jobgw and jobsim, read from /proc.\n\n"
      << "| call | C | direct: client | direct: jobsim | jobgw: client | jobgw: jobgw | jobgw: "
         "jobsim | extra CPU per call via jobgw |\n"
      << "|---|---:|---:|---:|---:|---:|---:|---:|\n";
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
        << " |\n";
  }
  out << "\n";
}

int cmd_report(Args& args) {
  std::string path = args.required("in");
  args.check_all_used();
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<nlohmann::json> fanin, unary;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    if (j.value("scenario", "") == "fanin") fanin.push_back(j);
    if (j.value("scenario", "") == "unary") unary.push_back(j);
  }
  if (!fanin.empty()) report_fanin(fanin, std::cout);
  if (!unary.empty()) report_unary(unary, std::cout);
  return 0;
}

}  // namespace
}  // namespace jobgw::bench

int main(int argc, char** argv) {
  using namespace jobgw::bench;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cerr << "usage: jobgw_bench fanin|unary|report [--flag value]...\n"
                 "  fanin  --mode baseline|jobgw --jobsim-port P [--grpc HOST:PORT] --k K\n"
                 "         [--interval-ms MS] [--hosts N] [--workers N] [--channels N]\n"
                 "         [--settle-ms MS] [--timeout-s S]\n"
                 "  unary  --op status|execute --jobsim-port P --grpc HOST:PORT --concurrency C\n"
                 "         [--seconds S] [--warmup-seconds S] [--max-requests M] [--rounds R]\n"
                 "         [--hosts N] [--jobsim-pid PID] [--jobgw-pid PID]   (CPU per call)\n"
                 "  report --in RESULTS.jsonl   (Markdown tables on stdout)\n";
    return argc < 2 ? 2 : 0;
  }
  std::string cmd = argv[1];
  try {
    Args args(argc, argv, 2);
    if (cmd == "fanin") return cmd_fanin(args);
    if (cmd == "unary") return cmd_unary(args);
    if (cmd == "report") return cmd_report(args);
    std::cerr << "jobgw_bench: unknown command " << cmd << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "jobgw_bench " << cmd << ": " << e.what() << "\n";
    return 1;
  }
}
