#include "jobsim/config.h"

#include <functional>
#include <map>
#include <stdexcept>

namespace jobsim {

namespace {

int64_t to_int(const std::string& flag, const std::string& v, int64_t lo, int64_t hi) {
  try {
    size_t used = 0;
    long long n = std::stoll(v, &used);
    if (used == v.size() && n >= lo && n <= hi) return n;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument(flag + ": \"" + v + "\" is not an integer within " +
                              std::to_string(lo) + ".." + std::to_string(hi));
}

double to_double(const std::string& flag, const std::string& v, double lo, double hi) {
  try {
    size_t used = 0;
    double d = std::stod(v, &used);
    if (used == v.size() && d >= lo && d <= hi) return d;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument(flag + ": \"" + v + "\" is not a number within " +
                              std::to_string(lo) + ".." + std::to_string(hi));
}

}  // namespace

std::string usage() {
  return R"(jobsim: a JOB platform emulator (BlueKing JOB v3 API over HTTP) that runs scripts and
moves files for real on simulated hosts.

Usage: jobsim [flags]

Server
  --listen HOST:PORT        address to serve on (default 127.0.0.1:8090; port 0 = ephemeral;
                            IPv6 as [::1]:0)
  --port-file PATH          once listening, write the bound port there (atomically)
  --threads N               io threads serving HTTP (default 2)
  --log-level LEVEL         trace, debug, info, warn, error, off (default info); logs go to stderr
  --app-code CODE           app code callers must present (auth is off unless both are given)
  --app-secret SECRET       app secret callers must present

Hosts
  --hosts N                 generate N hosts: ids 101.., scope biz 1, cloud 0, addresses from the
                            documentation ranges (default when no --inventory: 5)
  --inventory FILE          read hosts, dynamic groups, topo nodes and business sets from FILE
  --data-dir DIR            where host sandboxes live (DIR/hosts/<host_id>); default: a fresh
                            temp dir removed at exit
  --keep-data               keep the default temp data dir at exit

Execution
  --executor real|synthetic real runs processes and copies files (default); synthetic only
                            simulates durations and outcomes
  --max-procs N             scripts running at once (default 32); other hosts wait in status 5
  --transfer-threads N      file-copy workers (default 4)
  --kill-grace-ms MS        terminate: SIGTERM, then SIGKILL after MS (default 2000)
  --log-cap BYTES           per-host log size kept (default 1048576)
  --keep-jobs N             finished jobs kept for status/log reads, oldest evicted (default 1000)
  --synthetic-min-ms MS     synthetic host duration, lower bound (default 100)
  --synthetic-max-ms MS     synthetic host duration, upper bound (default 1000)
  --synthetic-fail-rate P   probability a synthetic host exits 1 (status 104) (default 0)
  --synthetic-log-bytes N   log exactly N bytes per synthetic host (0: one line; default 0)

Callbacks
  --callback-retries N      extra attempts after a failed callback POST (default 3)
  --callback-retry-ms MS    delay before retry k is k*MS (default 500)

Faults
  --fault SPEC              inject a fault (repeatable): ENDPOINT:KIND[=VALUE][@RATE][#MAX]
                            e.g. get_job_instance_status:throttle=2@0.5, *:reset@0.1
  --seed N                  seed of the fault and synthetic RNGs (default 1)

  --help                    print this help
)";
}

Config parse_args(int argc, const char* const* argv) {
  Config c;
  using Setter = std::function<void(const std::string&, const std::string&)>;
  std::map<std::string, Setter> with_value = {
      {"--listen", [&](auto&, auto& v) { c.listen = v; }},
      {"--port-file", [&](auto&, auto& v) { c.port_file = v; }},
      {"--threads", [&](auto& f, auto& v) { c.threads = static_cast<int>(to_int(f, v, 1, 256)); }},
      {"--log-level",
       [&](auto& f, auto& v) {
         static const char* levels[] = {"trace", "debug",    "info", "warn",
                                        "error", "critical", "off"};
         bool ok = false;
         for (auto* l : levels) ok = ok || v == l;
         if (!ok) throw std::invalid_argument(f + ": unknown level \"" + v + "\"");
         c.log_level = v;
       }},
      {"--app-code", [&](auto&, auto& v) { c.app_code = v; }},
      {"--app-secret", [&](auto&, auto& v) { c.app_secret = v; }},
      {"--hosts", [&](auto& f, auto& v) { c.hosts = static_cast<int>(to_int(f, v, 0, 1000000)); }},
      {"--inventory", [&](auto&, auto& v) { c.inventory = v; }},
      {"--data-dir", [&](auto&, auto& v) { c.data_dir = v; }},
      {"--executor",
       [&](auto& f, auto& v) {
         if (v != "real" && v != "synthetic")
           throw std::invalid_argument(f + ": real or synthetic");
         c.executor = v;
       }},
      {"--max-procs", [&](auto& f, auto& v) { c.max_procs = to_int(f, v, 1, 100000); }},
      {"--transfer-threads", [&](auto& f, auto& v) { c.transfer_threads = to_int(f, v, 1, 256); }},
      {"--kill-grace-ms",
       [&](auto& f, auto& v) { c.kill_grace_ms = static_cast<int>(to_int(f, v, 0, 600000)); }},
      {"--log-cap", [&](auto& f, auto& v) { c.log_cap = to_int(f, v, 1, int64_t(1) << 32); }},
      {"--keep-jobs", [&](auto& f, auto& v) { c.keep_jobs = to_int(f, v, 1, 10000000); }},
      {"--synthetic-min-ms",
       [&](auto& f, auto& v) { c.synthetic_min_ms = static_cast<int>(to_int(f, v, 0, 86400000)); }},
      {"--synthetic-max-ms",
       [&](auto& f, auto& v) { c.synthetic_max_ms = static_cast<int>(to_int(f, v, 0, 86400000)); }},
      {"--synthetic-fail-rate",
       [&](auto& f, auto& v) { c.synthetic_fail_rate = to_double(f, v, 0, 1); }},
      {"--synthetic-log-bytes",
       [&](auto& f, auto& v) { c.synthetic_log_bytes = to_int(f, v, 0, int64_t(1) << 30); }},
      {"--callback-retries",
       [&](auto& f, auto& v) { c.callback_retries = static_cast<int>(to_int(f, v, 0, 100)); }},
      {"--callback-retry-ms",
       [&](auto& f, auto& v) { c.callback_retry_ms = static_cast<int>(to_int(f, v, 0, 600000)); }},
      {"--fault", [&](auto&, auto& v) { c.faults.push_back(v); }},
      {"--seed",
       [&](auto& f, auto& v) { c.seed = static_cast<uint64_t>(to_int(f, v, 0, INT64_MAX)); }},
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      c.help = true;
      continue;
    }
    if (arg == "--keep-data") {
      c.keep_data = true;
      continue;
    }
    std::string flag = arg, value;
    bool has_value = false;
    size_t eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    auto it = with_value.find(flag);
    if (it == with_value.end())
      throw std::invalid_argument("unknown flag " + flag + " (see --help)");
    if (!has_value) {
      if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      value = argv[++i];
    }
    it->second(flag, value);
  }
  if (c.app_code.empty() != c.app_secret.empty()) {
    throw std::invalid_argument("--app-code and --app-secret go together");
  }
  if (c.hosts >= 0 && !c.inventory.empty()) {
    throw std::invalid_argument("--hosts and --inventory exclude each other");
  }
  if (c.synthetic_max_ms < c.synthetic_min_ms) {
    throw std::invalid_argument("--synthetic-max-ms is below --synthetic-min-ms");
  }
  return c;
}

}  // namespace jobsim
