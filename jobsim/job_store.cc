#include "jobsim/job_store.h"

#include "jobsim/api_error.h"

namespace jobsim {

JobStore::JobStore(const Clock& clock, size_t keep_jobs, size_t log_cap)
    : clock_(clock), keep_jobs_(keep_jobs == 0 ? 1 : keep_jobs), log_cap_(log_cap) {}

std::shared_ptr<Job> JobStore::add(std::shared_ptr<Job> job) {
  std::lock_guard<std::mutex> lock(mu_);
  job->id = next_job_id_++;
  job->create_ms = clock_.now_ms();
  if (job->is_plan()) {
    for (auto& step : job->steps) {
      step->id = job->id;
      step->step_id = next_step_id_++;
      step->create_ms = job->create_ms;
      for (size_t i = 0; i < step->hosts.size(); ++i) {
        step->index_of[step->hosts[i].host.host_id] = i;
      }
    }
    job->step_id = job->steps.empty() ? 0 : job->steps.front()->step_id;
  } else {
    job->step_id = next_step_id_++;
  }
  for (size_t i = 0; i < job->hosts.size(); ++i) job->index_of[job->hosts[i].host.host_id] = i;
  jobs_[job->id] = job;
  created_total_.fetch_add(1);
  evict_locked();
  return job;
}

void JobStore::evict_locked() {
  // Jobs are keyed by increasing id, so the first finished ones are the oldest.
  for (auto it = jobs_.begin(); jobs_.size() > keep_jobs_ && it != jobs_.end();) {
    bool finished;
    {
      std::lock_guard<std::mutex> lock(it->second->mu);
      finished = it->second->finished;
    }
    if (finished) {
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

std::shared_ptr<Job> JobStore::find(int64_t job_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : it->second;
}

size_t JobStore::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_.size();
}

std::vector<std::shared_ptr<Job>> JobStore::all() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<Job>> out;
  out.reserve(jobs_.size());
  for (auto& [id, job] : jobs_) out.push_back(job);
  return out;
}

size_t JobStore::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (auto& [id, job] : jobs_) {
    std::lock_guard<std::mutex> jl(job->mu);
    if (!job->finished) ++n;
  }
  return n;
}

void JobStore::job_started(const std::shared_ptr<Job>& job) {
  std::lock_guard<std::mutex> lock(job->mu);
  if (job->status == job_status::kPending) {
    job->status = job_status::kRunning;
    job->step_status = job_status::kRunning;
    job->start_ms = clock_.now_ms();
  }
}

void JobStore::host_running(const std::shared_ptr<Job>& job, size_t idx) {
  std::lock_guard<std::mutex> lock(job->mu);
  HostResult& h = job->hosts.at(idx);
  if (host_status::final(h.status)) return;
  h.status = host_status::kRunning;
  h.start_ms = clock_.now_ms();
}

void JobStore::append_locked(Job& job, HostResult& h, const char* data, size_t n) {
  if (h.log_truncated) return;
  if (h.log.size() + n <= log_cap_) {
    h.log.append(data, n);
    return;
  }
  h.log.append(data, log_cap_ - h.log.size());
  h.log += "\n[jobsim: log truncated at " + std::to_string(log_cap_) + " bytes]\n";
  h.log_truncated = true;
}

void JobStore::append_log(const std::shared_ptr<Job>& job, size_t idx, const char* data, size_t n) {
  std::lock_guard<std::mutex> lock(job->mu);
  append_locked(*job, job->hosts.at(idx), data, n);
}

void JobStore::host_finished(const std::shared_ptr<Job>& job, size_t idx, int status, int exit_code,
                             const std::string& log_line) {
  bool job_done = false;
  {
    std::lock_guard<std::mutex> lock(job->mu);
    HostResult& h = job->hosts.at(idx);
    if (host_status::final(h.status)) return;
    int64_t now = clock_.now_ms();
    if (h.start_ms == 0) h.start_ms = now;
    h.end_ms = now;
    h.status = status;
    h.exit_code = exit_code;
    if (!log_line.empty()) {
      std::string line = log_line;
      if (!h.log.empty() && h.log.back() != '\n') line = "\n" + line;
      if (line.back() != '\n') line += '\n';
      append_locked(*job, h, line.data(), line.size());
    }
    if (++job->hosts_final == job->hosts.size()) {
      bool all_ok = true;
      for (auto& r : job->hosts) all_ok = all_ok && r.status == host_status::kSuccess;
      int final_status = job->terminating ? job_status::kTerminated
                         : all_ok         ? job_status::kSuccess
                                          : job_status::kFailed;
      if (job->start_ms == 0) job->start_ms = now;
      job->status = final_status;
      job->step_status = final_status;
      job->end_ms = now;
      job->finished = true;
      job_done = true;
    }
  }
  if (!job_done) return;
  if (!job->parent.expired()) {
    if (on_step_finished_) on_step_finished_(job);
  } else if (on_finished_) {
    on_finished_(job);
  }
}

void JobStore::set_host_vars(const std::shared_ptr<Job>& job, size_t idx,
                             std::map<std::string, std::string> vars) {
  std::lock_guard<std::mutex> lock(job->mu);
  job->hosts.at(idx).vars = std::move(vars);
}

size_t JobStore::reset_for_retry(const std::shared_ptr<Job>& step, bool all_hosts) {
  std::lock_guard<std::mutex> lock(step->mu);
  bool any_failed = false;
  for (auto& h : step->hosts) any_failed = any_failed || h.status != host_status::kSuccess;
  // Nothing failed (a step stopped between hosts): a retry of the failed hosts reruns them all.
  if (!any_failed) all_hosts = true;
  size_t rerun = 0;
  step->hosts_final = 0;
  for (auto& h : step->hosts) {
    if (!all_hosts && h.status == host_status::kSuccess) {
      ++step->hosts_final;
      continue;
    }
    HostResult fresh;
    fresh.host = h.host;
    h = std::move(fresh);
    ++rerun;
  }
  if (all_hosts) step->uploads.clear();
  step->status = job_status::kPending;
  step->step_status = job_status::kPending;
  step->end_ms = 0;
  step->finished = false;
  step->terminating = false;
  step->skip_requested = false;
  ++step->execute_count;
  return rerun;
}

bool JobStore::begin_terminate(const std::shared_ptr<Job>& job, int64_t* error_code,
                               std::string* why) {
  std::lock_guard<std::mutex> lock(job->mu);
  if (job->finished) {
    *error_code = code::kIllegalParamReason;
    *why = "Job instance " + std::to_string(job->id) + " has already finished";
    return false;
  }
  if (job->terminating) {
    *error_code = code::kJobTerminating;
    *why = "Job instance " + std::to_string(job->id) + " is already terminating";
    return false;
  }
  job->terminating = true;
  job->status = job_status::kTerminating;
  job->step_status = job_status::kTerminating;
  return true;
}

}  // namespace jobsim
