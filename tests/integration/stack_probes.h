#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/metrics_text.h"

// What the robustness suites (fault matrix, outage, slow consumer, overload) read from a running
// stack besides gRPC: jobsim's API and counters directly, jobgw's /metrics, and jobgw's RSS.
namespace jobgw::testing {

struct DirectJob {
  std::int64_t job_instance_id = 0;
  std::int64_t step_instance_id = 0;
};

// Submits a bash script straight to jobsim (scope biz:1), bypassing jobgw, so jobgw knows
// nothing of the job until a caller asks. Throws std::runtime_error when jobsim refuses.
DirectJob jobsim_submit_script(const GatewayStack& stack, const std::string& script,
                               const std::vector<std::int64_t>& host_ids);
// Runs jobsim's built-in plan 1 ("three steps") straight on jobsim and waits (up to 20 s) until
// its confirmation step waits for a user: the job and that step. Throws std::runtime_error when
// jobsim refuses or the step never waits.
DirectJob jobsim_plan_at_confirmation(const GatewayStack& stack);
// operate_step_instance straight to jobsim; true when jobsim accepted it.
bool jobsim_operate_step(const GatewayStack& stack, const DirectJob& step, int operation_code);
// operate_job_instance (terminate) straight to jobsim; true when jobsim accepted it.
bool jobsim_terminate(const GatewayStack& stack, std::int64_t job_instance_id);
// How many requests reached jobsim's endpoint `api` (faulted ones included).
std::int64_t jobsim_requests(const GatewayStack& stack, const std::string& api);

// jobgw's /metrics text (read it with tests/integration/metrics_text.h).
std::string jobgw_metrics(const GatewayStack& stack);

// One WatchStatus stream (scope biz:1) read on its own thread until it ends; the destructor
// cancels it if still open. A non-empty `token` is sent as "authorization: Bearer <token>".
class StreamWatcher {
 public:
  StreamWatcher(v1::JobGateway::Stub& stub, std::int64_t job_instance_id,
                std::chrono::seconds timeout, const std::string& token = {});
  ~StreamWatcher();
  StreamWatcher(const StreamWatcher&) = delete;
  StreamWatcher& operator=(const StreamWatcher&) = delete;

  bool ended() const;
  std::size_t event_count() const;
  grpc::Status status() const;
  std::vector<v1::StatusEvent> events() const;

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::StatusEvent>> reader_;
  mutable std::mutex mu_;
  std::vector<v1::StatusEvent> events_;
  grpc::Status status_;
  bool ended_ = false;
  std::thread thread_;
};

// VmRSS of a process in KiB, from /proc/<pid>/status; 0 when unreadable.
long rss_kib(pid_t pid);

// Whether jobgw's RSS means what the tests' memory bounds assume. Under AddressSanitizer freed
// blocks wait in a quarantine (256 MiB by default) and every block carries redzones and shadow,
// so RSS grows with traffic whatever jobgw frees: the bounds hold in normal builds, and leaks in
// sanitized ones are LeakSanitizer's to report. jobgw is built with the same flags as the tests.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kRssBoundsApply = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kRssBoundsApply = false;
#else
inline constexpr bool kRssBoundsApply = true;
#endif
#else
inline constexpr bool kRssBoundsApply = true;
#endif

}  // namespace jobgw::testing
