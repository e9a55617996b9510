#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "jobsim/job_store.h"
#include "jobsim/sandbox.h"

namespace jobsim {

// Runs file steps for real: for each target host, copies every listed file of every source host
// from the source's sandbox into `file_target_path` inside the target's sandbox, throttled to the
// step's speed limits. Copies run on a few worker threads (blocking file I/O never touches the
// io_context); hosts wait in status 5 until a worker takes them.
class TransferRunner {
 public:
  TransferRunner(JobStore& store, const Sandboxes& sandboxes, size_t threads);
  ~TransferRunner();

  void start(const std::shared_ptr<Job>& job);
  void terminate(const std::shared_ptr<Job>& job);
  size_t running() const { return running_.load(); }
  void shutdown();

 private:
  void worker();
  void run_host(const std::shared_ptr<Job>& job, size_t idx);

  JobStore& store_;
  const Sandboxes& sandboxes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::shared_ptr<Job>, size_t>> queue_;
  bool stop_ = false;
  std::atomic<bool> stopping_{false};  // copies in flight give up at shutdown
  std::vector<std::thread> threads_;
  std::atomic<size_t> running_{0};
};

}  // namespace jobsim
