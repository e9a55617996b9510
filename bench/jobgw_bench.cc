// jobgw_bench: load generators for jobgw's benchmark (bench/run.sh drives it; `jobgw_bench
// --help` lists the commands and flags). Each scenario command prints one JSON object per line
// (a result); `report` turns a file of them into the Markdown tables of bench/RESULTS.md and
// `check` decides whether a smoke run broke.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bigjob.h"
#include "budget.h"
#include "fanin.h"
#include "latency.h"
#include "replicas.h"
#include "report.h"
#include "streams.h"
#include "sweep.h"
#include "unary.h"
#include "web.h"

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
  o.grpc_address = args.str("grpc");
  o.floor_address = args.str("floor");
  o.floor_pid = static_cast<int>(args.integer("floor-pid", 0));
  o.targets = args.str("targets");
  o.concurrency = static_cast<int>(args.integer("concurrency", o.concurrency));
  o.seconds = args.number("seconds", o.seconds);
  o.warmup_seconds = args.number("warmup-seconds", o.warmup_seconds);
  o.max_requests = args.integer("max-requests", o.max_requests);
  o.rounds = static_cast<int>(args.integer("rounds", o.rounds));
  o.hosts = static_cast<int>(args.integer("hosts", o.hosts));
  o.jobsim_pid = static_cast<int>(args.integer("jobsim-pid", 0));
  o.jobgw_pid = static_cast<int>(args.integer("jobgw-pid", 0));
  args.check_all_used();
  if (o.concurrency < 1 || o.seconds <= 0) {
    throw std::runtime_error("need --concurrency >= 1, --seconds > 0");
  }
  if (o.op == "watched" && (o.jobsim_port <= 0 || o.grpc_address.empty())) {
    throw std::runtime_error("watched needs --jobsim-port and --grpc");
  }
  const nlohmann::json rows = o.op == "watched" ? run_unary_watched(o) : run_unary(o);
  for (const auto& row : rows) std::cout << row.dump() << std::endl;
  return 0;
}

int cmd_latency(Args& args) {
  LatencyOptions o;
  std::string mode = args.required("mode");
  o.jobsim_port = static_cast<int>(args.integer("jobsim-port", 0));
  o.grpc_address = args.str("grpc");
  o.label = args.str("label");
  o.interval_ms = static_cast<int>(args.integer("interval-ms", o.interval_ms));
  o.jobs = static_cast<int>(args.integer("jobs", o.jobs));
  o.jobs_per_second = args.number("jobs-per-second", o.jobs_per_second);
  o.hosts = static_cast<int>(args.integer("hosts", o.hosts));
  o.young_ms = static_cast<int>(args.integer("young-ms", o.young_ms));
  o.timeout_s = static_cast<int>(args.integer("timeout-s", o.timeout_s));
  o.detail = args.str("detail", o.detail);
  o.warmup_jobs = static_cast<int>(args.integer("warmup-jobs", o.warmup_jobs));
  o.duration_ms = static_cast<int>(args.integer("duration-ms", o.duration_ms));
  const double floor_ms = args.number("floor-ms", 200);
  args.check_all_used();
  if (o.jobsim_port <= 0 || o.jobs < 1 || o.jobs_per_second <= 0 || o.interval_ms < 1) {
    throw std::runtime_error("need --jobsim-port, --jobs >= 1, --jobs-per-second > 0");
  }
  nlohmann::json out;
  if (mode == "baseline") {
    out = run_latency_baseline(o);
  } else if (mode == "jobgw") {
    if (o.grpc_address.empty()) throw std::runtime_error("--grpc is required with --mode jobgw");
    out = run_latency_gateway(o);
    out["floor_ms"] = floor_ms;
  } else {
    throw std::runtime_error("--mode: baseline or jobgw");
  }
  std::cout << out.dump() << std::endl;
  return 0;
}

int cmd_budget(Args& args) {
  BudgetOptions o;
  std::string mode = args.required("mode");
  o.jobsim_port = static_cast<int>(args.integer("jobsim-port", 0));
  o.grpc_address = args.str("grpc");
  o.interval_ms = static_cast<int>(args.integer("interval-ms", o.interval_ms));
  o.jobs = static_cast<int>(args.integer("jobs", o.jobs));
  o.budget_per_second = args.number("budget", o.budget_per_second);
  o.ceiling_ms = static_cast<int>(args.integer("ceiling-ms", o.ceiling_ms));
  o.workers = static_cast<int>(args.integer("workers", o.workers));
  o.timeout_s = static_cast<int>(args.integer("timeout-s", o.timeout_s));
  o.watch_every = static_cast<int>(args.integer("watch-every", o.watch_every));
  args.check_all_used();
  if (o.jobsim_port <= 0 || o.jobs < 1 || o.interval_ms < 1 || o.watch_every < 1) {
    throw std::runtime_error(
        "need --jobsim-port, --jobs >= 1, --interval-ms >= 1, --watch-every >= 1");
  }
  nlohmann::json out;
  if (mode == "baseline") {
    out = run_budget_baseline(o);
  } else if (mode == "jobgw") {
    if (o.grpc_address.empty()) throw std::runtime_error("--grpc is required with --mode jobgw");
    out = run_budget_gateway(o);
  } else {
    throw std::runtime_error("--mode: baseline or jobgw");
  }
  std::cout << out.dump() << std::endl;
  return 0;
}

int cmd_streams(Args& args) {
  StreamsOptions o;
  o.jobsim_port = static_cast<int>(args.integer("jobsim-port", 0));
  o.grpc_address = args.required("grpc");
  o.jobgw_pid = static_cast<int>(args.integer("jobgw-pid", 0));
  o.streams = static_cast<int>(args.integer("streams", o.streams));
  o.jobs = static_cast<int>(args.integer("jobs", o.jobs));
  o.channels = static_cast<int>(args.integer("channels", o.channels));
  o.idle_seconds = args.number("idle-seconds", o.idle_seconds);
  o.idle_after_ms = static_cast<int>(args.integer("idle-after-ms", o.idle_after_ms));
  o.timeout_s = static_cast<int>(args.integer("timeout-s", o.timeout_s));
  args.check_all_used();
  if (o.jobsim_port <= 0 || o.streams < 1 || o.jobs < 1 || o.jobgw_pid <= 0) {
    throw std::runtime_error("need --jobsim-port, --jobgw-pid, --streams >= 1, --jobs >= 1");
  }
  std::cout << run_streams(o).dump() << std::endl;
  return 0;
}

int cmd_bigjob(Args& args) {
  BigJobOptions o;
  o.jobsim_port = static_cast<int>(args.integer("jobsim-port", 0));
  o.grpc_address = args.required("grpc");
  o.jobgw_pid = static_cast<int>(args.integer("jobgw-pid", 0));
  o.hosts = static_cast<int>(args.integer("hosts", o.hosts));
  o.settle_ms = static_cast<int>(args.integer("settle-ms", o.settle_ms));
  o.rounds = static_cast<int>(args.integer("rounds", o.rounds));
  o.timeout_s = static_cast<int>(args.integer("timeout-s", o.timeout_s));
  args.check_all_used();
  if (o.jobsim_port <= 0 || o.hosts < 1 || o.jobgw_pid <= 0 || o.rounds < 1) {
    throw std::runtime_error("need --jobsim-port, --jobgw-pid, --hosts >= 1");
  }
  std::cout << run_bigjob(o).dump() << std::endl;
  return 0;
}

int cmd_web(Args& args) {
  WebOptions o;
  o.part = args.required("part");
  o.transport = args.str("transport", "sse");
  o.jobsim_port = static_cast<int>(args.integer("jobsim-port", 0));
  o.grpc_address = args.required("grpc");
  o.http_port = static_cast<int>(args.integer("http-port", 0));
  o.jobgw_pid = static_cast<int>(args.integer("jobgw-pid", 0));
  o.streams = static_cast<int>(args.integer("streams", o.streams));
  o.channels = static_cast<int>(args.integer("channels", o.channels));
  o.hosts = static_cast<int>(args.integer("hosts", o.hosts));
  o.step_ms = static_cast<int>(args.integer("step-ms", o.step_ms));
  o.k = static_cast<int>(args.integer("k", o.k));
  o.lines = static_cast<int>(args.integer("lines", o.lines));
  o.line_ms = static_cast<int>(args.integer("line-ms", o.line_ms));
  o.follow_interval_ms = static_cast<int>(args.integer("follow-interval-ms", o.follow_interval_ms));
  o.settle_ms = static_cast<int>(args.integer("settle-ms", o.settle_ms));
  o.timeout_s = static_cast<int>(args.integer("timeout-s", o.timeout_s));
  args.check_all_used();
  if (o.jobsim_port <= 0 || o.streams < 1 || o.hosts < 1 || o.k < 1) {
    throw std::runtime_error("need --jobsim-port, --streams >= 1, --hosts >= 1, --k >= 1");
  }
  std::cout << run_web(o).dump() << std::endl;
  return 0;
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::vector<int> split_ints(const std::string& list) {
  std::vector<int> out;
  for (const auto& item : split(list)) out.push_back(std::stoi(item));
  return out;
}

int cmd_sweep(Args& args) {
  SweepOptions o;
  o.jobsim_port = static_cast<int>(args.integer("jobsim-port", 0));
  o.grpc_address = args.required("grpc");
  o.duration_ms = static_cast<int>(args.integer("duration-ms", o.duration_ms));
  o.jobs = static_cast<int>(args.integer("jobs", o.jobs));
  if (std::string list = args.str("intervals-ms"); !list.empty()) o.intervals_ms = split_ints(list);
  o.hosts = static_cast<int>(args.integer("hosts", o.hosts));
  o.workers = static_cast<int>(args.integer("workers", o.workers));
  o.timeout_s = static_cast<int>(args.integer("timeout-s", o.timeout_s));
  args.check_all_used();
  if (o.jobsim_port <= 0 || o.jobs < 1 || o.hosts < 1) {
    throw std::runtime_error("need --jobsim-port, --jobs >= 1, --hosts >= 1");
  }
  for (int interval : o.intervals_ms) {
    if (interval < 1) throw std::runtime_error("--intervals-ms: each >= 1");
  }
  for (const auto& row : run_sweep(o)) std::cout << row.dump() << std::endl;
  return 0;
}

int cmd_replicas(Args& args) {
  ReplicasOptions o;
  o.part = args.required("part");
  o.jobsim_port = static_cast<int>(args.integer("jobsim-port", 0));
  o.grpc = split(args.required("grpc"));
  o.metrics_ports = split_ints(args.str("metrics-ports"));
  o.jobgw_pids = split_ints(args.str("jobgw-pids"));
  o.replica_ids = split(args.str("replica-ids"));
  o.redis_port = static_cast<int>(args.integer("redis-port", 0));
  o.redis_prefix = args.str("redis-prefix", o.redis_prefix);
  o.k = static_cast<int>(args.integer("k", o.k));
  o.hosts = static_cast<int>(args.integer("hosts", o.hosts));
  o.jobs = static_cast<int>(args.integer("jobs", o.jobs));
  o.jobs_per_second = args.number("jobs-per-second", o.jobs_per_second);
  o.watchers_per_replica =
      static_cast<int>(args.integer("watchers-per-replica", o.watchers_per_replica));
  o.round = static_cast<int>(args.integer("round", o.round));
  o.kill_after_ms = static_cast<int>(args.integer("kill-after-ms", o.kill_after_ms));
  o.idle_seconds = args.number("idle-seconds", o.idle_seconds);
  o.settle_ms = static_cast<int>(args.integer("settle-ms", o.settle_ms));
  o.timeout_s = static_cast<int>(args.integer("timeout-s", o.timeout_s));
  args.check_all_used();
  if (o.jobsim_port <= 0 || o.k < 1 || o.jobs < 1 || o.jobs_per_second <= 0) {
    throw std::runtime_error("need --jobsim-port, --k >= 1, --jobs >= 1, --jobs-per-second > 0");
  }
  std::cout << run_replicas(o).dump() << std::endl;
  return 0;
}

std::vector<nlohmann::json> read_rows(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object()) rows.push_back(std::move(j));
  }
  return rows;
}

int cmd_report(Args& args) {
  std::string path = args.required("in");
  args.check_all_used();
  write_report(read_rows(path), std::cout);
  return 0;
}

int cmd_check(Args& args) {
  std::string path = args.required("in");
  args.check_all_used();
  auto rows = read_rows(path);
  if (rows.empty()) {
    std::cerr << "check: no results in " << path << "\n";
    return 1;
  }
  auto failures = smoke_failures(rows);
  for (const auto& f : failures) std::cerr << "check: " << f << "\n";
  if (failures.empty()) std::cerr << "check: " << rows.size() << " results, no failures\n";
  return failures.empty() ? 0 : 1;
}

}  // namespace
}  // namespace jobgw::bench

int main(int argc, char** argv) {
  using namespace jobgw::bench;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cerr << "usage: jobgw_bench COMMAND [--flag value]...  (fanin, budget, latency, unary,\n"
                 "       streams, bigjob, replicas, web, sweep, report, check)\n"
                 "  fanin  --mode baseline|jobgw --jobsim-port P [--grpc HOST:PORT] --k K\n"
                 "         [--interval-ms MS] [--hosts N] [--workers N] [--channels N]\n"
                 "         [--settle-ms MS] [--timeout-s S]\n"
                 "  unary  --op status|execute|watched --jobsim-port P --grpc HOST:PORT\n"
                 "         --concurrency C [--seconds S] [--warmup-seconds S] [--max-requests M]\n"
                 "         [--rounds R]   (watched: GetJobStatus of a job jobgw watches)\n"
                 "         [--hosts N] [--jobsim-pid PID] [--jobgw-pid PID]   (CPU per call)\n"
                 "         [--floor HOST:PORT] [--floor-pid PID]   (status: jobgw_floor too)\n"
                 "         [--targets direct,jobgw,floor]   (which run; floor alone: no jobsim)\n"
                 "  budget --mode baseline|jobgw --jobsim-port P [--grpc HOST:PORT] [--jobs N]\n"
                 "         [--interval-ms MS] [--budget R] [--ceiling-ms MS] [--workers N]\n"
                 "         [--watch-every N]\n"
                 "  latency --mode baseline|jobgw --jobsim-port P [--grpc HOST:PORT] [--label L]\n"
                 "         [--interval-ms MS] [--jobs N] [--jobs-per-second R] [--hosts N]\n"
                 "         [--young-ms MS] [--floor-ms MS] [--detail hosts|progress]\n"
                 "         [--warmup-jobs N] [--duration-ms MS]   (the jobs' nominal length)\n"
                 "  streams --jobsim-port P --grpc HOST:PORT --jobgw-pid PID [--streams N]\n"
                 "         [--jobs N] [--channels N] [--idle-seconds S] [--idle-after-ms MS]\n"
                 "  bigjob --jobsim-port P --grpc HOST:PORT --jobgw-pid PID [--hosts N]\n"
                 "         [--settle-ms MS] [--rounds N]\n"
                 "  sweep  --jobsim-port P --grpc HOST:PORT [--duration-ms MS] [--jobs N]\n"
                 "         [--intervals-ms MS,...] [--hosts N] [--workers N]   (jobsim synthetic,\n"
                 "         durations around MS; jobgw and a poller per interval at once)\n"
                 "  replicas --part fanin|failover|redis|fanout --jobsim-port P\n"
                 "         --grpc HOST:PORT[,HOST:PORT...] [--metrics-ports P,...]\n"
                 "         [--redis-port P] [--redis-prefix jobgw] [--replica-ids ID,...]\n"
                 "         [--jobgw-pids PID,...] [--k K] [--hosts N] [--jobs N]\n"
                 "         [--jobs-per-second R] [--watchers-per-replica N] [--round I]\n"
                 "         [--kill-after-ms MS] [--idle-seconds S] [--settle-ms MS]\n"
                 "         (failover SIGKILLs the job's lease holder, one of --jobgw-pids)\n"
                 "  web    --part watch|follow --jobsim-port P --grpc HOST:PORT [--jobgw-pid PID]\n"
                 "         [--transport sse|grpc] [--http-port P] [--streams N] [--channels N]\n"
                 "         [--hosts N] [--step-ms MS] [--k K] [--lines N] [--line-ms MS]\n"
                 "         [--follow-interval-ms MS] [--settle-ms MS]   (jobsim --executor real)\n"
                 "  report --in RESULTS.jsonl   (Markdown tables on stdout)\n"
                 "  check  --in RESULTS.jsonl   (smoke: exit 1 when a scenario broke)\n";
    return argc < 2 ? 2 : 0;
  }
  std::string cmd = argv[1];
  try {
    Args args(argc, argv, 2);
    if (cmd == "fanin") return cmd_fanin(args);
    if (cmd == "unary") return cmd_unary(args);
    if (cmd == "latency") return cmd_latency(args);
    if (cmd == "budget") return cmd_budget(args);
    if (cmd == "streams") return cmd_streams(args);
    if (cmd == "bigjob") return cmd_bigjob(args);
    if (cmd == "replicas") return cmd_replicas(args);
    if (cmd == "sweep") return cmd_sweep(args);
    if (cmd == "web") return cmd_web(args);
    if (cmd == "report") return cmd_report(args);
    if (cmd == "check") return cmd_check(args);
    std::cerr << "jobgw_bench: unknown command " << cmd << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "jobgw_bench " << cmd << ": " << e.what() << "\n";
    return 1;
  }
}
