#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "client/reconnect_backoff.h"
#include "jobgw/v1/job_gateway.grpc.pb.h"

namespace jobgw::client {

// The result of one unary call: the gRPC status, the response when it is OK, and the JOB error
// details jobgw puts in trailing metadata when JOB itself refused the request.
template <typename T>
struct CallResult {
  grpc::Status status;
  T response;
  std::string job_code;        // trailer jobgw-job-code, empty when absent
  std::string job_request_id;  // trailer jobgw-job-request-id, empty when absent
  bool ok() const { return status.ok(); }
};

// grpc.health.v1 serving states, by their numbers on the wire.
enum class ServingStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };
const char* serving_status_name(ServingStatus status);

// Ends a blocking watch or follow_logs from another thread: the stream is cancelled and a wait
// before reconnecting ends at once, without a reconnect. Thread-safe; cancel() is final.
class StreamCancel {
 public:
  void cancel();
  bool cancelled() const;

  // For the client's stream loop: `context` is the call cancel() must reach (false: already
  // cancelled, do not start it); detach() before the context goes away.
  bool attach(grpc::ClientContext* context);
  void detach();
  // Waits `delay`; false when cancelled before or during it.
  bool wait(std::chrono::milliseconds delay);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  grpc::ClientContext* context_ = nullptr;
};

// How watch and follow_logs keep a stream going.
struct WatchOptions {
  // Reconnect when the stream ends UNAVAILABLE (jobgw restarting or shutting down), resuming
  // after the last seq received.
  bool reconnect = true;
  BackoffPolicy backoff;
  // Overall limit on the whole watch, reconnects included; 0 = none.
  std::chrono::milliseconds deadline{0};
  // Injected for tests; default: wait out the delay, ending it early once the channel (down when
  // the wait began) connects again, so a restarted jobgw is reached when it listens, not when
  // the delay ends. A channel already up is waited out (jobgw itself answered UNAVAILABLE).
  std::function<void(std::chrono::milliseconds)> sleep;
  ReconnectBackoff::Clock clock;
  std::uint64_t seed = std::random_device{}();
  // Told before each reconnect wait (status that ended the stream, delay, attempt number).
  std::function<void(const grpc::Status&, std::chrono::milliseconds, int)> on_reconnect;
  // Told once a reopened stream delivers its first event (attempts: the reconnect attempts the
  // outage took), so "reconnected" is printed only when events flow again, not on a dial.
  std::function<void(int attempts)> on_reconnected;
  // Lets another thread end the stream (the result is then CANCELLED); null: none can.
  StreamCancel* cancel = nullptr;
  // WatchStatus only: what the watcher needs. Progress and end only costs JOB far fewer reads
  // while JOB's callbacks reach jobgw.
  v1::WatchDetail detail = v1::WATCH_DETAIL_HOSTS;
};

struct WatchResult {
  grpc::Status status;  // OK once the stream ended normally (after FINISHED)
  std::string job_code;
  std::string job_request_id;
  std::uint64_t last_seq = 0;
  bool finished = false;  // a FINISHED event was received
  int reconnects = 0;
};

struct FollowLogsResult {
  grpc::Status status;  // OK once the stream ended normally: every followed host ended
  std::string job_code;
  std::string job_request_id;
  std::uint64_t last_seq = 0;
  int reconnects = 0;
};

// The page size the log readers below ask for when the request names none: jobgw's own limit
// may exceed gRPC's default 4 MiB receive limit, which insecure_channel keeps.
constexpr std::int64_t kDefaultLogPageBytes = 4 * 1024 * 1024 - 64 * 1024;

// A thin synchronous client of jobgw.v1.JobGateway. Each unary call gets the client's RPC
// timeout as its deadline; none of them retries (a submit must not run twice).
class GatewayClient {
 public:
  using EventHandler = std::function<void(const v1::StatusEvent&)>;
  using LogEventHandler = std::function<void(const v1::LogEvent&)>;

  explicit GatewayClient(std::shared_ptr<grpc::Channel> channel,
                         std::chrono::milliseconds rpc_timeout = std::chrono::seconds(30));

  // A plaintext channel to `address` (HOST:PORT), with channel_arguments(). TLS channels: see
  // client/channel.h.
  static std::shared_ptr<grpc::Channel> insecure_channel(const std::string& address);

  // The address calls go to, named when it cannot be reached (see unreachable_status).
  void set_address(std::string address) { address_ = std::move(address); }

  // Sent as `authorization: Bearer TOKEN` metadata on every call from now on (empty: none).
  // Per call rather than as call credentials, so it also reaches a plaintext jobgw on loopback.
  void set_bearer_token(std::string token) { bearer_token_ = std::move(token); }

  CallResult<v1::JobRef> execute_script(const v1::ExecuteScriptRequest& request);
  CallResult<v1::JobRef> transfer_file(const v1::TransferFileRequest& request);
  CallResult<v1::JobSnapshot> get_job_status(const v1::GetJobStatusRequest& request);
  // One page of logs; see get_all_ip_logs to read them all.
  CallResult<v1::GetIpLogsResponse> get_ip_logs(const v1::GetIpLogsRequest& request);
  // Reads every page of a step's logs, from request.page_token (empty: the first) to the last,
  // calling on_page for each in order; max_response_bytes 0 becomes kDefaultLogPageBytes. Returns
  // the first failed call, else the last page's. A jobgw that hands back the token it was given
  // would loop forever: that ends with INTERNAL.
  CallResult<v1::GetIpLogsResponse> for_each_ip_logs_page(
      const v1::GetIpLogsRequest& request,
      const std::function<void(const v1::GetIpLogsResponse&)>& on_page);
  // Every page merged into one response (next_page_token empty), for callers that want it all.
  CallResult<v1::GetIpLogsResponse> get_all_ip_logs(const v1::GetIpLogsRequest& request);
  CallResult<v1::TerminateJobResponse> terminate_job(const v1::TerminateJobRequest& request);
  // One page of jobs; the caller follows next_page_token.
  CallResult<v1::ListJobsResponse> list_jobs(const v1::ListJobsRequest& request);
  // Job plans. ExecuteJobPlan is a submit: like the others it is never retried (request_id
  // makes a rerun safe).
  CallResult<v1::ListJobPlansResponse> list_job_plans(const v1::ListJobPlansRequest& request);
  CallResult<v1::JobPlan> get_job_plan(const v1::GetJobPlanRequest& request);
  CallResult<v1::JobRef> execute_job_plan(const v1::ExecuteJobPlanRequest& request);
  CallResult<v1::OperateStepResponse> operate_step(const v1::OperateStepRequest& request);
  CallResult<v1::JobOutputs> get_job_outputs(const v1::GetJobOutputsRequest& request);
  // The standard grpc.health.v1.Health/Check; `service` empty asks about the whole server.
  CallResult<ServingStatus> check_health(const std::string& service);

  // Follows a job's WatchStatus stream to its end, calling on_event for every event in order.
  // Blocks. On UNAVAILABLE it reconnects (see WatchOptions) with after_seq = the last seq seen;
  // the caller sees a SNAPSHOT with resumed=false when jobgw could not replay what it missed.
  WatchResult watch(const v1::Scope& scope, std::int64_t job_instance_id, std::uint64_t after_seq,
                    const EventHandler& on_event, const WatchOptions& options = {});

  // Follows a FollowLogs stream to its end (every followed host ended), calling on_event for
  // every event in order. Blocks. Reconnects as watch does, with after_seq = the last seq seen
  // (request.after_seq to begin with); the caller sees resumed=false on the first event after a
  // reconnect when jobgw starts the logs again from their beginning.
  FollowLogsResult follow_logs(const v1::FollowLogsRequest& request,
                               const LogEventHandler& on_event, const WatchOptions& options = {});

 private:
  template <typename Req, typename Resp, typename Fn>
  CallResult<Resp> unary(const Req& request, Fn fn);

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::JobGateway::Stub> stub_;
  std::chrono::milliseconds rpc_timeout_;
  std::string bearer_token_;
  std::string address_;

  void authorize(grpc::ClientContext* context) const;
  grpc::Status explain(grpc::Status status) const;
};

// A call that failed because nothing could be reached at `address` (refused, unresolvable):
// UNAVAILABLE "cannot reach jobgw at ADDRESS: connection refused" instead of gRPC's own
// "failed to connect to all addresses; last error: ..." text. Any other status as it is.
grpc::Status unreachable_status(const grpc::Status& status, const std::string& address);
// Whether `status` is one unreachable_status made.
bool is_unreachable(const grpc::Status& status);

// "CODE: message [job_code=... request_id=...]" for a failed call. jobgw's own "(JOB code N)"
// at the end of the message is left out when job_code says it.
std::string describe_status(const grpc::Status& status, const std::string& job_code,
                            const std::string& job_request_id);

}  // namespace jobgw::client
