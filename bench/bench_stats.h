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

// CPU time of every thread the process has now, in ms, as the scheduler counts it
// (/proc/PID/task/*/schedstat, nanoseconds): exact where process_cpu_ms counts 10 ms ticks, so
// a window of short bursts (an idle server's reads) is measured, not sampled. Threads that
// ended since an earlier reading take their time with them. 0 when unknown.
double process_thread_cpu_ms(int pid);

// Voluntary plus involuntary context switches of every thread `pid` has now. A hand-off between
// threads costs a switch (a futex or epoll wake), so per call this counts the hand-offs the CPU
// time hides. Threads that ended since an earlier reading take their counts with them: the
// servers keep their threads for their lifetime.
std::int64_t process_context_switches(int pid);

// Resident set size of a process (VmRSS), KiB; 0 when unknown.
std::int64_t process_rss_kib(int pid);

// Standard Base64 with padding, as JOB wants script_content and script_param.
std::string base64(const std::string& in);

}  // namespace jobgw::bench
