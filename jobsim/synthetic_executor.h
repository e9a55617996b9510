#pragma once

#include <boost/asio.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "jobsim/executor.h"

namespace jobsim {

struct SyntheticOptions {
  int min_ms = 100;  // host duration, uniform in [min_ms, max_ms]
  int max_ms = 1000;
  double fail_rate = 0.0;  // probability that a host ends with exit code 1 (status 104)
  uint64_t seed = 1;
  size_t log_bytes = 0;  // a finished host logs exactly this many bytes; 0: one line
};

// The log of a finished synthetic host: `line` alone when `bytes` is 0, else exactly `bytes`
// bytes: `line`, then numbered filler lines, cut to size and ending in a newline.
std::string synthetic_log(const std::string& line, size_t bytes);

// The load-test executor: no process, no copy. Every host is a timer on the io_context that
// ends after a drawn duration with a drawn outcome, so 10,000 hosts cost almost nothing.
class SyntheticExecutor : public Executor {
 public:
  SyntheticExecutor(boost::asio::io_context& ioc, JobStore& store, SyntheticOptions options);

  void start(const std::shared_ptr<Job>& job) override;
  void terminate(const std::shared_ptr<Job>& job) override;
  size_t running() const override;
  void shutdown() override;

 private:
  struct HostTimer;
  void finish(const std::shared_ptr<HostTimer>& t, int status, int exit_code,
              const std::string& line);

  void start_on_strand(const std::shared_ptr<Job>& job);
  void terminate_on_strand(const std::shared_ptr<Job>& job);

  boost::asio::io_context& ioc_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;  // owns every timer
  JobStore& store_;
  SyntheticOptions options_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  std::map<int64_t, std::map<size_t, std::shared_ptr<HostTimer>>> live_;  // step id -> idx -> timer
  size_t running_ = 0;
};

}  // namespace jobsim
