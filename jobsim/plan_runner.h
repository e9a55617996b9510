#pragma once

#include <boost/asio.hpp>
#include <memory>
#include <mutex>
#include <string>

#include "jobsim/executor.h"
#include "jobsim/job_store.h"

namespace jobsim {

// Runs job plan instances as JOB does: steps in order, each script or file step handed to the
// executor as a job of its own, confirmations waiting for operate_step_instance; a failed step
// stops the job until a step operation continues it. Every decision is taken under one mutex;
// step ends arrive from the executors through the store's step hook and are handled on a
// strand, so no executor ever calls back into the runner while it decides.
class PlanRunner {
 public:
  PlanRunner(boost::asio::io_context& ioc, JobStore& store, Executor& executor);

  // Starts a registered plan job (pending): its first step.
  void start(const std::shared_ptr<Job>& job);
  // operate_job_instance 2: starts a job created with start_task=false. Throws ApiError.
  void start_created(const std::shared_ptr<Job>& job);
  // After JobStore::begin_terminate accepted a terminate of a plan job.
  void terminate(const std::shared_ptr<Job>& job);
  // operate_step_instance: throws ApiError (1244007 unknown step, 1241003 wrong state, 1244016
  // not an allowed confirmer, 1241005 unknown operation).
  void operate_step(const std::shared_ptr<Job>& job, int64_t step_id, int64_t operation,
                    const std::string& user);

 private:
  void on_step_end(const std::shared_ptr<Job>& step);
  // The rest run under mu_.
  void run_step(const std::shared_ptr<Job>& job, size_t index);
  void launch(const std::shared_ptr<Job>& job, const std::shared_ptr<Job>& step);
  void end_job(const std::shared_ptr<Job>& job, int status, bool call_back);

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  JobStore& store_;
  Executor& executor_;
  std::mutex mu_;
};

}  // namespace jobsim
