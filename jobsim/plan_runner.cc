#include "jobsim/plan_runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "jobsim/api_error.h"
#include "jobsim/plan.h"
#include "jobsim/text_util.h"

namespace jobsim {

namespace asio = boost::asio;

PlanRunner::PlanRunner(asio::io_context& ioc, JobStore& store, Executor& executor)
    : strand_(asio::make_strand(ioc)), store_(store), executor_(executor) {
  store_.set_step_finished_hook([this](const std::shared_ptr<Job>& step) {
    asio::post(strand_, [this, step] { on_step_end(step); });
  });
}

void PlanRunner::start(const std::shared_ptr<Job>& job) {
  std::lock_guard<std::mutex> lock(mu_);
  {
    std::lock_guard<std::mutex> jl(job->mu);
    job->started = true;
    job->status = job_status::kRunning;
    job->start_ms = store_.clock().now_ms();
  }
  spdlog::info("event=plan_started job={} plan={} steps={}", job->id, job->plan_id,
               job->steps.size());
  run_step(job, 0);
}

void PlanRunner::start_created(const std::shared_ptr<Job>& job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::lock_guard<std::mutex> jl(job->mu);
    if (job->finished) {
      throw ApiError(code::kIllegalParamReason,
                     "Job instance " + std::to_string(job->id) + " has already finished");
    }
    if (job->started) {
      throw ApiError(code::kIllegalParamReason,
                     "Job instance " + std::to_string(job->id) + " has already started");
    }
  }
  start(job);
}

void PlanRunner::run_step(const std::shared_ptr<Job>& job, size_t index) {
  if (index >= job->steps.size()) {
    end_job(job, job_status::kSuccess, true);
    return;
  }
  const auto& step = job->steps[index];
  if (step->step_type == kStepConfirm) {
    std::lock_guard<std::mutex> jl(job->mu);
    std::lock_guard<std::mutex> sl(step->mu);
    job->current = index;
    job->status = job_status::kWaitingUser;
    step->status = step->step_status = job_status::kWaitingUser;
    step->start_ms = store_.clock().now_ms();
    step->end_ms = 0;
    step->finished = false;
    spdlog::info("event=plan_step_waiting job={} step={}", job->id, step->step_id);
    return;
  }
  {
    std::lock_guard<std::mutex> jl(job->mu);
    std::lock_guard<std::mutex> sl(step->mu);
    job->current = index;
    job->status = job_status::kRunning;
    step->vars_in = job->vars;
  }
  launch(job, step);
}

void PlanRunner::launch(const std::shared_ptr<Job>& job, const std::shared_ptr<Job>& step) {
  if (step->step_type == kStepScript) {
    std::vector<JobVar> vars;
    {
      std::lock_guard<std::mutex> sl(step->mu);
      vars = step->vars_in;
    }
    step->script.content = substitute_vars(step->script_template, vars);
    step->script.args.clear();
    std::string param = substitute_vars(step->param_template, vars);
    if (auto words = split_words(param)) step->script.args = *words;
    step->script.prelude.clear();
    step->script.read_back.clear();
    if (step->script.language == 1) {
      step->script.prelude = bash_declarations(vars);
      for (auto& v : vars) {
        if (v.type == var_type::kString) step->script.read_back.push_back(v.name);
      }
    }
  }
  spdlog::info("event=plan_step_started job={} step={} type={}", job->id, step->step_id,
               step->step_type);
  executor_.start(step);
}

void PlanRunner::end_job(const std::shared_ptr<Job>& job, int status, bool call_back) {
  {
    std::lock_guard<std::mutex> jl(job->mu);
    job->status = status;
    job->end_ms = store_.clock().now_ms();
    if (job->start_ms == 0) job->start_ms = job->end_ms;
    job->finished = true;
    job->terminating = false;
  }
  spdlog::info("event=plan_ended job={} status={} plan={}", job->id, status, job->plan_id);
  if (call_back) store_.notify_finished(job);
}

void PlanRunner::on_step_end(const std::shared_ptr<Job>& step) {
  std::lock_guard<std::mutex> lock(mu_);
  auto job = step->parent.lock();
  if (!job) return;
  enum { kNext, kStop, kFail } outcome = kNext;
  size_t index = 0;
  {
    std::lock_guard<std::mutex> jl(job->mu);
    std::lock_guard<std::mutex> sl(step->mu);
    index = static_cast<size_t>(std::find(job->steps.begin(), job->steps.end(), step) -
                                job->steps.begin());
    const int st = step->step_status;
    if (step->skip_requested) {
      step->skip_requested = false;
      step->status = step->step_status = job_status::kSkipped;
    } else {
      // The step's variables: as the first host's script left them.
      step->vars_out = step->vars_in;
      if (!step->hosts.empty()) {
        const auto& left = step->hosts.front().vars;
        for (auto& v : step->vars_out) {
          auto it = left.find(v.name);
          if (v.type == var_type::kString && it != left.end()) v.value = it->second;
        }
      }
      job->vars = step->vars_out;
      step->ran = true;
      if (st == job_status::kTerminated) {
        step->status = step->step_status = job_status::kTerminateSucceeded;
        outcome = kStop;
      } else if (job->terminating) {
        outcome = kStop;
      } else if (st != job_status::kSuccess) {
        outcome = kFail;
      }
    }
  }
  spdlog::info("event=plan_step_end job={} step={} outcome={}", job->id, step->step_id,
               outcome == kNext   ? "next"
               : outcome == kStop ? "stopped"
                                  : "failed");
  switch (outcome) {
    case kNext:
      run_step(job, index + 1);
      break;
    case kStop:
      end_job(job, job_status::kTerminateSucceeded, true);
      break;
    case kFail:
      end_job(job, job_status::kFailed, true);
      break;
  }
}

void PlanRunner::terminate(const std::shared_ptr<Job>& job) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<Job> step;
  bool end_now = false;
  {
    std::lock_guard<std::mutex> jl(job->mu);
    if (!job->started || job->steps.empty()) {
      end_now = true;
    } else {
      step = job->steps[job->current];
      std::lock_guard<std::mutex> sl(step->mu);
      if (step->step_type == kStepConfirm) {
        if (step->step_status == job_status::kWaitingUser) {
          step->status = step->step_status = job_status::kTerminateSucceeded;
          step->end_ms = store_.clock().now_ms();
        }
        end_now = true;
      } else if (step->finished) {
        // Its end is on the way to on_step_end, which sees the terminate and stops there.
        step = nullptr;
      }
    }
  }
  if (end_now) {
    end_job(job, job_status::kTerminateSucceeded, true);
    return;
  }
  if (!step) return;
  int64_t err = 0;
  std::string why;
  if (store_.begin_terminate(step, &err, &why)) executor_.terminate(step);
}

void PlanRunner::operate_step(const std::shared_ptr<Job>& job, int64_t step_id, int64_t operation,
                              const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t index = job->steps.size();
  for (size_t i = 0; i < job->steps.size(); ++i) {
    if (job->steps[i]->step_id == step_id) index = i;
  }
  if (index == job->steps.size()) {
    throw ApiError(code::kStepNotFound,
                   "Step instance " + std::to_string(step_id) + " does not exist");
  }
  const auto& step = job->steps[index];
  int st;
  size_t current;
  {
    std::lock_guard<std::mutex> jl(job->mu);
    std::lock_guard<std::mutex> sl(step->mu);
    st = step->step_status;
    current = job->current;
  }
  auto require = [&](std::initializer_list<int> allowed, bool current_only) {
    bool ok = std::find(allowed.begin(), allowed.end(), st) != allowed.end();
    if (ok && (!current_only || index == current)) return;
    throw ApiError(code::kWrongState, "Step instance " + std::to_string(step_id) +
                                          " is in status " + std::to_string(st) + ": operation " +
                                          std::to_string(operation) + " is not allowed now");
  };
  auto resume = [&] {
    std::lock_guard<std::mutex> jl(job->mu);
    job->status = job_status::kRunning;
    job->finished = false;
    job->end_ms = 0;
    job->terminating = false;
  };
  const int64_t now = store_.clock().now_ms();
  spdlog::info("event=operate_step job={} step={} operation={} user={}", job->id, step_id,
               operation, user);
  switch (operation) {
    case 2:    // retry the failed hosts
    case 8: {  // retry every host
      require({job_status::kFailed, job_status::kAbnormal, job_status::kTerminateSucceeded}, true);
      resume();
      store_.reset_for_retry(step, operation == 8);
      launch(job, step);
      return;
    }
    case 3: {  // ignore the error
      require({job_status::kFailed, job_status::kAbnormal}, true);
      {
        std::lock_guard<std::mutex> sl(step->mu);
        step->status = step->step_status = job_status::kIgnoredError;
      }
      resume();
      run_step(job, index + 1);
      return;
    }
    case 6: {  // confirm and continue
      require({job_status::kWaitingUser}, true);
      if (!step->confirm_users.empty() &&
          std::find(step->confirm_users.begin(), step->confirm_users.end(), user) ==
              step->confirm_users.end()) {
        throw ApiError(code::kNotConfirmer, "User \"" + user + "\" may not confirm step instance " +
                                                std::to_string(step_id));
      }
      {
        std::lock_guard<std::mutex> sl(step->mu);
        step->status = step->step_status = job_status::kSuccess;
        step->end_ms = now;
        step->finished = true;
        step->confirmed_by = user;
      }
      resume();
      run_step(job, index + 1);
      return;
    }
    case 9: {  // terminate the confirmation: the job ends, and JOB does not call back
      require({job_status::kWaitingUser}, true);
      {
        std::lock_guard<std::mutex> sl(step->mu);
        step->status = step->step_status = job_status::kConfirmTerminated;
        step->end_ms = now;
      }
      end_job(job, job_status::kConfirmTerminated, false);
      return;
    }
    case 10: {  // re-initiate a terminated confirmation
      require({job_status::kConfirmTerminated}, true);
      std::lock_guard<std::mutex> jl(job->mu);
      std::lock_guard<std::mutex> sl(step->mu);
      step->status = step->step_status = job_status::kWaitingUser;
      step->start_ms = now;
      step->end_ms = 0;
      job->status = job_status::kWaitingUser;
      job->finished = false;
      job->end_ms = 0;
      return;
    }
    case 11: {  // go on with the next step after a terminate
      require({job_status::kTerminateSucceeded}, true);
      resume();
      run_step(job, index + 1);
      return;
    }
    case 12: {  // force skip a step that is terminating: it ends as skipped, the job goes on
      require({job_status::kTerminating}, true);
      std::lock_guard<std::mutex> jl(job->mu);
      std::lock_guard<std::mutex> sl(step->mu);
      step->skip_requested = true;
      job->terminating = false;
      job->status = job_status::kRunning;
      return;
    }
    default:
      throw illegal_param("operation_code", "must be one of 2, 3, 6, 8, 9, 10, 11, 12");
  }
}

}  // namespace jobsim
