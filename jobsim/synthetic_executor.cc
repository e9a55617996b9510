#include "jobsim/synthetic_executor.h"

#include <algorithm>

namespace jobsim {

namespace asio = boost::asio;

struct SyntheticExecutor::HostTimer {
  explicit HostTimer(asio::io_context& ioc) : timer(ioc) {}
  asio::steady_timer timer;
  std::shared_ptr<Job> job;
  size_t idx = 0;
  int duration_ms = 0;
  bool fail = false;
};

SyntheticExecutor::SyntheticExecutor(asio::io_context& ioc, JobStore& store,
                                     SyntheticOptions options)
    : ioc_(ioc),
      strand_(asio::make_strand(ioc)),
      store_(store),
      options_(options),
      rng_(options.seed) {
  if (options_.max_ms < options_.min_ms) options_.max_ms = options_.min_ms;
}

void SyntheticExecutor::start(const std::shared_ptr<Job>& job) {
  asio::post(strand_, [this, job] { start_on_strand(job); });
}

void SyntheticExecutor::terminate(const std::shared_ptr<Job>& job) {
  asio::post(strand_, [this, job] { terminate_on_strand(job); });
}

void SyntheticExecutor::start_on_strand(const std::shared_ptr<Job>& job) {
  store_.job_started(job);
  std::vector<std::shared_ptr<HostTimer>> timers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::uniform_int_distribution<int> duration(options_.min_ms, options_.max_ms);
    std::bernoulli_distribution fail(std::clamp(options_.fail_rate, 0.0, 1.0));
    for (size_t i = 0; i < job->hosts.size(); ++i) {
      if (job->hosts[i].host.agent_abnormal) continue;
      {
        // A plan step's retry runs only the hosts made to wait again.
        std::lock_guard<std::mutex> job_lock(job->mu);
        if (host_status::final(job->hosts[i].status)) continue;
      }
      auto t = std::make_shared<HostTimer>(ioc_);
      t->job = job;
      t->idx = i;
      t->duration_ms = duration(rng_);
      t->fail = fail(rng_);
      live_[job->step_id][i] = t;
      timers.push_back(t);
      ++running_;
    }
  }
  for (size_t i = 0; i < job->hosts.size(); ++i) {
    if (job->hosts[i].host.agent_abnormal) {
      store_.host_finished(job, i, host_status::kAgentAbnormal, 0,
                           "[jobsim] agent status of host " +
                               std::to_string(job->hosts[i].host.host_id) + " is abnormal");
    }
  }
  const bool file = job->step_type == kStepFile;
  for (auto& t : timers) {
    store_.host_running(job, t->idx);
    const int64_t timeout_ms = int64_t(job->timeout_s) * 1000;
    const bool times_out = t->duration_ms > timeout_ms;
    t->timer.expires_after(std::chrono::milliseconds(times_out ? timeout_ms : t->duration_ms));
    t->timer.async_wait(
        asio::bind_executor(strand_, [this, t, times_out, file](boost::system::error_code ec) {
          if (ec) return;
          const Host& h = t->job->hosts[t->idx].host;
          std::string who = "host " + std::to_string(h.host_id) + " (" + h.ip + ")";
          if (times_out) {
            finish(t, file ? host_status::kTaskTimeout : host_status::kScriptTimeout, 0,
                   "[jobsim synthetic] " + who + " timed out");
          } else if (t->fail) {
            finish(t, host_status::kNonZeroExit, 1,
                   synthetic_log("[jobsim synthetic] " + who + " ran " +
                                     std::to_string(t->duration_ms) + " ms, exit code 1",
                                 options_.log_bytes));
          } else {
            finish(t, host_status::kSuccess, 0,
                   synthetic_log("[jobsim synthetic] " + who + " ran " +
                                     std::to_string(t->duration_ms) + " ms, exit code 0",
                                 options_.log_bytes));
          }
        }));
  }
}

std::string synthetic_log(const std::string& line, size_t bytes) {
  if (bytes == 0) return line;
  std::string out;
  out.reserve(bytes + 80);
  out = line + "\n";
  for (size_t n = 1; out.size() < bytes; ++n) {
    out += "[jobsim synthetic] log line " + std::to_string(n) +
           " 0123456789abcdefghijklmnopqrstuvwxyz\n";
  }
  out.resize(bytes);
  out.back() = '\n';
  return out;
}

void SyntheticExecutor::finish(const std::shared_ptr<HostTimer>& t, int status, int exit_code,
                               const std::string& line) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(t->job->step_id);
    if (it == live_.end() || it->second.erase(t->idx) == 0) return;  // already finished
    if (it->second.empty()) live_.erase(it);
    --running_;
  }
  store_.host_finished(t->job, t->idx, status, exit_code, line);
}

void SyntheticExecutor::terminate_on_strand(const std::shared_ptr<Job>& job) {
  std::vector<std::shared_ptr<HostTimer>> timers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(job->step_id);
    if (it != live_.end()) {
      for (auto& [idx, t] : it->second) timers.push_back(t);
    }
  }
  const int status =
      job->step_type == kStepFile ? host_status::kTerminated : host_status::kScriptTerminated;
  for (auto& t : timers) {
    t->timer.cancel();
    finish(t, status, 0, "[jobsim synthetic] terminated");
  }
}

size_t SyntheticExecutor::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

void SyntheticExecutor::shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [job, timers] : live_) {
    for (auto& [idx, t] : timers) t->timer.cancel();
  }
  live_.clear();
  running_ = 0;
}

}  // namespace jobsim
