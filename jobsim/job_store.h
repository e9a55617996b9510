#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "jobsim/clock.h"
#include "jobsim/inventory.h"

namespace jobsim {

// JOB's numbers (docs/JOB_API.md "Statuses").
namespace job_status {
constexpr int kPending = 1, kRunning = 2, kSuccess = 3, kFailed = 4, kSkipped = 5,
              kIgnoredError = 6, kWaitingUser = 7, kTerminated = 8, kAbnormal = 9,
              kTerminating = 10, kTerminateSucceeded = 11, kConfirmTerminated = 13;
}
namespace host_status {
constexpr int kWaiting = 5, kRunning = 7, kSuccess = 9, kSubmitFailed = 12, kTaskTimeout = 13,
              kScriptFailed = 101, kScriptTimeout = 102, kScriptTerminated = 103,
              kNonZeroExit = 104, kCopyFailed = 202, kSourceMissing = 203, kAgentAbnormal = 310,
              kTerminated = 403;
inline bool final(int s) { return s != kWaiting && s != kRunning; }
}  // namespace host_status
namespace file_status {
constexpr int kWaiting = 1, kUploading = 2, kDownloading = 3, kSuccess = 4, kFailed = 5;
}
constexpr int kStepScript = 1;
constexpr int kStepFile = 2;
constexpr int kStepConfirm = 3;  // job plans only: a manual confirmation

// One line of a file step's log: mode 0 upload (source side), 1 download (target side).
struct FileLog {
  int mode = 1;
  Host src;
  std::string src_path;
  Host dest;  // download only
  std::string dest_path;
  int status = file_status::kWaiting;
  std::string log;
  uint64_t size = 0;
  uint64_t done = 0;
  double speed = 0;  // bytes per second
};

struct HostResult {
  Host host;
  int status = host_status::kWaiting;
  int exit_code = 0;
  int error_code = 0;
  std::string tag;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::string log;  // script output, capped
  bool log_truncated = false;
  std::vector<FileLog> file_logs;  // download logs of a file step
  // Plan script steps: the string variables as the script left them (absent when it left none).
  std::map<std::string, std::string> vars;
};

// A global variable of a plan job, with its value as the job runs (host lists are resolved into
// the steps' hosts at submit, so their value is empty here).
struct JobVar {
  int64_t id = 0;
  std::string name;
  int type = 1;  // 1 string, 2 namespace, 3 host list, 4 password, 5 assoc. array, 6 indexed array
  std::string value;
};

struct ScriptSpec {
  int language = 1;  // 1 shell, 2 bat, 3 perl, 4 python, 5 powershell
  std::string content;
  std::vector<std::string> args;
  // Plan shell steps: lines run before the script (variable declarations) and the variables
  // read back when it exits. Either one makes the runner source the script from a wrapper.
  std::string prelude;
  std::vector<std::string> read_back;
};

struct FileSource {
  std::vector<std::string> files;  // normalised absolute paths on the source hosts
  std::vector<Host> hosts;
};

struct TransferSpec {
  std::string target_path;  // normalised; may hold [FILESRCIP]
  std::vector<FileSource> sources;
  double upload_limit = 0;    // bytes per second, 0 = unlimited
  double download_limit = 0;  // bytes per second, 0 = unlimited
  int mode = 2;               // 1 strict, 2 forced
};

// One job instance with its single step, or (job plans) a job whose steps are Jobs themselves:
// each step of a plan is run by the executors like a single-step job, under the plan's job id
// and its own step id. Immutable fields are set before the job is shared; the mutable state sits
// behind `mu`. Locks are taken parent first, then a step's.
struct Job {
  int64_t id = 0;
  int64_t step_id = 0;
  int step_type = kStepScript;
  Scope scope;
  std::string name;
  std::string username;
  std::string callback_url;
  int timeout_s = 7200;
  ScriptSpec script;
  TransferSpec transfer;

  // Job plans: on the job, the plan and its steps; on a step, its job and confirmation rules.
  int64_t plan_id = 0;  // > 0 on a plan's job
  int64_t template_id = 0;
  std::vector<std::shared_ptr<Job>> steps;
  std::weak_ptr<Job> parent;
  std::string script_template;             // script steps: the content before ${var} substitution
  std::string param_template;              // and the parameters
  std::vector<std::string> confirm_users;  // confirmations: who may confirm (empty: anyone)
  std::string notify_message;
  bool is_plan() const { return plan_id > 0; }

  mutable std::mutex mu;
  int status = job_status::kPending;
  int step_status = job_status::kPending;
  int64_t create_ms = 0;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  bool terminating = false;
  bool finished = false;
  size_t hosts_final = 0;
  std::vector<HostResult> hosts;                    // the step's targets, in request order
  std::map<int64_t, std::vector<FileLog>> uploads;  // upload logs by source host id
  std::map<int64_t, size_t> index_of;               // host id -> index in `hosts`
  int execute_count = 0;                            // plan steps: retries so far
  // Plan jobs: the step running or waiting (index in `steps`), the variables' values now.
  size_t current = 0;
  bool started = false;
  std::vector<JobVar> vars;
  // Plan steps: variables before the step ran and after it (`ran` once it ended); a force skip
  // asked while the step was terminating.
  std::vector<JobVar> vars_in, vars_out;
  bool ran = false;
  bool skip_requested = false;
  std::string confirmed_by;
};

// All job instances, with the state transitions executors use. Finished jobs are kept up to
// `keep_jobs`; the oldest finished ones are evicted first, running ones never.
class JobStore {
 public:
  using FinishedHook = std::function<void(const std::shared_ptr<Job>&)>;
  JobStore(const Clock& clock, size_t keep_jobs, size_t log_cap);

  void set_finished_hook(FinishedHook hook) { on_finished_ = std::move(hook); }
  // Called instead of the finished hook when the last host of a plan's step ends.
  void set_step_finished_hook(FinishedHook hook) { on_step_finished_ = std::move(hook); }
  // Runs the finished hook for a plan job that has just ended (each end calls back).
  void notify_finished(const std::shared_ptr<Job>& job) {
    if (on_finished_) on_finished_(job);
  }
  const Clock& clock() const { return clock_; }
  size_t log_cap() const { return log_cap_; }

  // Assigns ids and times (a plan's steps get a step id each), registers the job; `hosts` (a
  // plan step's `hosts`) must already be filled.
  std::shared_ptr<Job> add(std::shared_ptr<Job> job);
  std::shared_ptr<Job> find(int64_t job_id) const;
  size_t size() const;
  std::vector<std::shared_ptr<Job>> all() const;
  size_t running() const;
  uint64_t created_total() const { return created_total_.load(); }

  // Transitions (each takes job->mu itself). host_* on a host already final are ignored.
  void job_started(const std::shared_ptr<Job>& job);
  void host_running(const std::shared_ptr<Job>& job, size_t idx);
  void append_log(const std::shared_ptr<Job>& job, size_t idx, const char* data, size_t n);
  // Finishes a host; when it was the last one, finishes the job and calls the hook.
  void host_finished(const std::shared_ptr<Job>& job, size_t idx, int status, int exit_code = 0,
                     const std::string& log_line = "");
  // Marks a terminate request: false when already terminating or finished (see `why`).
  bool begin_terminate(const std::shared_ptr<Job>& job, int64_t* error_code, std::string* why);
  // Sets a script host's variables read back at its end (before host_finished).
  void set_host_vars(const std::shared_ptr<Job>& job, size_t idx,
                     std::map<std::string, std::string> vars);
  // Makes a plan step runnable again: its failed hosts (or all) wait, their logs cleared.
  // Returns how many hosts will run.
  size_t reset_for_retry(const std::shared_ptr<Job>& step, bool all_hosts);

 private:
  void append_locked(Job& job, HostResult& h, const char* data, size_t n);
  void evict_locked();

  const Clock& clock_;
  size_t keep_jobs_;
  size_t log_cap_;
  FinishedHook on_finished_;
  FinishedHook on_step_finished_;
  mutable std::mutex mu_;
  std::map<int64_t, std::shared_ptr<Job>> jobs_;
  int64_t next_job_id_ = 10001;
  int64_t next_step_id_ = 20001;
  std::atomic<uint64_t> created_total_{0};
};

}  // namespace jobsim
