#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace jobsim {

// Command-line configuration of jobsim (every flag is documented in jobsim/README.md and
// printed by --help).
struct Config {
  std::string listen = "127.0.0.1:8090";
  std::string port_file;
  int hosts = -1;  // -1: not given
  std::string inventory;
  std::string data_dir;  // empty: a fresh temp dir, removed at exit
  bool keep_data = false;
  std::string app_code;
  std::string app_secret;
  std::string executor = "real";
  int synthetic_min_ms = 100;
  int synthetic_max_ms = 1000;
  double synthetic_fail_rate = 0.0;
  size_t synthetic_log_bytes = 0;  // 0: the one-line log
  size_t max_procs = 32;
  size_t log_cap = 1024 * 1024;
  size_t keep_jobs = 1000;
  std::vector<std::string> faults;
  uint64_t seed = 1;
  int threads = 2;
  std::string log_level = "info";
  int kill_grace_ms = 2000;
  size_t transfer_threads = 4;
  int callback_retries = 3;
  int callback_retry_ms = 500;
  bool help = false;
};

// Parses argv (both "--flag value" and "--flag=value"). Throws std::invalid_argument naming the
// bad flag.
Config parse_args(int argc, const char* const* argv);
std::string usage();

}  // namespace jobsim
