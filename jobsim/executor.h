#pragma once

#include <memory>

#include "jobsim/job_store.h"

namespace jobsim {

// Runs jobs: the real executor (processes and file copies) or the synthetic one (timers).
class Executor {
 public:
  virtual ~Executor() = default;
  // Starts a registered job (script or file step, by job->step_type). Never blocks on the work.
  virtual void start(const std::shared_ptr<Job>& job) = 0;
  // Stops a job whose terminate was accepted (JobStore::begin_terminate): waiting hosts end as
  // terminated, running ones are killed.
  virtual void terminate(const std::shared_ptr<Job>& job) = 0;
  // Processes (or synthetic hosts) running right now.
  virtual size_t running() const = 0;
  // Kills everything still running (at shutdown).
  virtual void shutdown() = 0;
};

}  // namespace jobsim
