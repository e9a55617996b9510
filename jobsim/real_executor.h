#pragma once

#include <boost/asio.hpp>

#include "jobsim/executor.h"
#include "jobsim/script_runner.h"
#include "jobsim/transfer_runner.h"

namespace jobsim {

// The default executor: scripts run as processes, files are copied between sandboxes.
class RealExecutor : public Executor {
 public:
  RealExecutor(boost::asio::io_context& ioc, JobStore& store, const Sandboxes& sandboxes,
               ScriptRunnerOptions script_options, size_t transfer_threads)
      : scripts_(ioc, store, sandboxes, script_options),
        transfers_(store, sandboxes, transfer_threads) {}

  void start(const std::shared_ptr<Job>& job) override {
    if (job->step_type == kStepFile) {
      transfers_.start(job);
    } else {
      scripts_.start(job);
    }
  }
  void terminate(const std::shared_ptr<Job>& job) override {
    if (job->step_type == kStepFile) {
      transfers_.terminate(job);
    } else {
      scripts_.terminate(job);
    }
  }
  size_t running() const override { return scripts_.running() + transfers_.running(); }
  void shutdown() override {
    transfers_.shutdown();
    scripts_.shutdown();
  }

 private:
  ScriptRunner scripts_;
  TransferRunner transfers_;
};

}  // namespace jobsim
