#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace jobgw::bench {

// Latency percentiles in milliseconds.
struct Percentiles {
  double p50 = 0;
  double p95 = 0;
  double p99 = 0;
  double max = 0;
  double mean = 0;
};

// Nearest-rank percentiles of `samples` (any unit; the result keeps it).
Percentiles percentiles(std::vector<double> samples);

// Wall clock, Unix milliseconds (comparable with JOB's times on the same machine).
std::int64_t unix_ms();

// CPU time (user + system) of a process so far, in ms; 0 when unknown.
double process_cpu_ms(int pid);

// Resident set size of a process (VmRSS), KiB; 0 when unknown.
std::int64_t process_rss_kib(int pid);

// Standard Base64 with padding, as JOB wants script_content and script_param.
std::string base64(const std::string& in);

}  // namespace jobgw::bench
