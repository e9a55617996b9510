#include "client/gateway_client.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/status_names.h"
#include "client/channel.h"

namespace jobgw::client {
namespace {

constexpr char kJobCodeTrailer[] = "jobgw-job-code";
constexpr char kJobRequestIdTrailer[] = "jobgw-job-request-id";

std::string trailer(const grpc::ClientContext& context, const char* key) {
  const auto& md = context.GetServerTrailingMetadata();
  auto it = md.find(key);
  if (it == md.end()) return {};
  return std::string(it->second.data(), it->second.size());
}

// grpc.health.v1.HealthCheckRequest is one string field (1); encoded by hand so the client
// needs no second generated proto (and cannot clash with another copy of grpc.health.v1).
std::string encode_health_request(const std::string& service) {
  std::string out;
  if (service.empty()) return out;
  out.push_back(0x0a);
  std::size_t n = service.size();
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  return out + service;
}

// HealthCheckResponse: field 1 is the status enum (varint); unknown fields are skipped.
bool decode_health_response(const std::string& bytes, ServingStatus* status) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  *status = ServingStatus::kUnknown;
  while (true) {
    std::uint32_t tag = in.ReadTag();
    if (tag == 0) return true;
    if (tag == 0x08) {
      std::uint32_t v = 0;
      if (!in.ReadVarint32(&v)) return false;
      *status = static_cast<ServingStatus>(v);
    } else if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
}

struct StreamRun {
  grpc::Status status;
  std::string job_code;
  std::string job_request_id;
  std::uint64_t last_seq = 0;
  bool finished = false;
  int reconnects = 0;
};

// Waits `delay` before a reconnect; false when cancelled. When the channel is down as the wait
// begins, the wait ends as soon as it is READY again: gRPC's channel reconnects on its own
// (quickly, see channel_arguments()), and jobgw listening again should not wait out a delay
// that grew while it was down. Polled in short slices so a cancel is seen promptly.
bool wait_to_reconnect(grpc::Channel& channel, std::chrono::milliseconds delay,
                       StreamCancel* cancel) {
  using std::chrono::steady_clock;
  const auto end = steady_clock::now() + delay;
  constexpr std::chrono::milliseconds kSlice{50};
  if (channel.GetState(true) == GRPC_CHANNEL_READY) {
    if (cancel != nullptr) return cancel->wait(delay);
    std::this_thread::sleep_for(delay);
    return true;
  }
  while (true) {
    if (cancel != nullptr && cancel->cancelled()) return false;
    auto state = channel.GetState(true);
    if (state == GRPC_CHANNEL_READY) return true;
    const auto now = steady_clock::now();
    if (now >= end) return true;
    const auto slice = std::min<steady_clock::duration>(end - now, kSlice);
    channel.WaitForStateChange(state, std::chrono::system_clock::now() + slice);
  }
}

// Reads a server stream to its end, opening it again after UNAVAILABLE (per `options`) with
// after_seq = the last seq received. open(context, after_seq) starts one call; on_event returns
// true for the event a stream exists for (watch's FINISHED): once it came, a broken stream is
// not reopened. explain(status) rewords a status (an unreachable jobgw); wait(delay) is the
// wait before a reconnect when options inject no sleep (false: cancelled).
template <typename Event, typename Open, typename OnEvent, typename Explain, typename Wait>
StreamRun run_stream(const Open& open, std::uint64_t after_seq, const OnEvent& on_event,
                     const WatchOptions& options, const Explain& explain, const Wait& wait) {
  auto clock = options.clock ? options.clock : [] { return std::chrono::steady_clock::now(); };
  StreamCancel* cancel = options.cancel;
  // False when cancelled: then no reconnect follows the wait.
  auto sleep = [&options, &wait, cancel](std::chrono::milliseconds d) {
    if (options.sleep) {
      options.sleep(d);
    } else {
      return wait(d);
    }
    return cancel == nullptr || !cancel->cancelled();
  };
  ReconnectBackoff backoff(options.backoff, clock, options.seed);
  const auto start = clock();
  // The system-clock deadline gRPC wants, computed once so reconnects share one limit.
  const auto deadline = std::chrono::system_clock::now() + options.deadline;
  const grpc::Status cancelled(grpc::StatusCode::CANCELLED, "cancelled by jobctl");

  StreamRun run;
  run.last_seq = after_seq;
  // Reconnect attempts since the last stream that delivered an event.
  int outage_attempts = 0;
  while (true) {
    grpc::ClientContext context;
    if (options.deadline.count() > 0) context.set_deadline(deadline);
    if (cancel != nullptr && !cancel->attach(&context)) {
      run.status = cancelled;
      return run;
    }
    auto reader = open(&context, run.last_seq);
    Event event;
    bool got_event = false;
    while (reader->Read(&event)) {
      if (!got_event && outage_attempts > 0) {
        if (options.on_reconnected) options.on_reconnected(outage_attempts);
        outage_attempts = 0;
      }
      got_event = true;
      if (event.seq() > run.last_seq) run.last_seq = event.seq();
      if (on_event(event)) run.finished = true;
    }
    run.status = explain(reader->Finish());
    if (cancel != nullptr) cancel->detach();
    run.job_code = trailer(context, kJobCodeTrailer);
    run.job_request_id = trailer(context, kJobRequestIdTrailer);
    if (run.status.ok() || run.finished) return run;
    if (cancel != nullptr && cancel->cancelled()) {
      run.status = cancelled;
      return run;
    }
    if (!options.reconnect || run.status.error_code() != grpc::StatusCode::UNAVAILABLE) {
      return run;
    }
    // A stream that delivered something was a healthy connection: its end starts a new run.
    if (got_event) backoff.reset();
    auto delay = backoff.next_delay();
    if (!delay) return run;
    if (options.deadline.count() > 0 && clock() - start + *delay >= options.deadline) {
      run.status =
          grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                       "deadline reached while reconnecting: " + run.status.error_message());
      return run;
    }
    outage_attempts = backoff.attempts();
    if (options.on_reconnect) options.on_reconnect(run.status, *delay, outage_attempts);
    if (!sleep(*delay)) {
      run.status = cancelled;
      return run;
    }
    ++run.reconnects;
  }
}

}  // namespace

void StreamCancel::cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  if (context_ != nullptr) context_->TryCancel();
  cv_.notify_all();
}

bool StreamCancel::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

bool StreamCancel::attach(grpc::ClientContext* context) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_) return false;
  context_ = context;
  return true;
}

void StreamCancel::detach() {
  std::lock_guard<std::mutex> lock(mu_);
  context_ = nullptr;
}

bool StreamCancel::wait(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, delay, [this] { return cancelled_; });
}

const char* serving_status_name(ServingStatus status) {
  switch (status) {
    case ServingStatus::kServing:
      return "SERVING";
    case ServingStatus::kNotServing:
      return "NOT_SERVING";
    case ServingStatus::kServiceUnknown:
      return "SERVICE_UNKNOWN";
    default:
      return "UNKNOWN";
  }
}

namespace {

constexpr char kUnreachablePrefix[] = "cannot reach jobgw at ";

// gRPC's reason after its own prefixes ("last error: UNKNOWN: ipv4:127.0.0.1:1: Failed to
// connect to remote host: Connection refused" -> "connection refused"; a TLS handshake that
// failed -> "TLS handshake failed (certificate verify failed)").
std::string connect_reason(const std::string& message) {
  std::string reason = message;
  if (auto pos = reason.rfind("last error: "); pos != std::string::npos) {
    reason = reason.substr(pos + 12);
  }
  // A status code name ("UNKNOWN: ", "UNAVAILABLE: "), then the resolved address.
  if (auto colon = reason.find(": ");
      colon != std::string::npos && colon > 0 &&
      std::all_of(reason.begin(), reason.begin() + colon,
                  [](char c) { return std::isupper(static_cast<unsigned char>(c)) || c == '_'; })) {
    reason = reason.substr(colon + 2);
  }
  for (const char* scheme : {"ipv4:", "ipv6:", "unix:"}) {
    if (reason.rfind(scheme, 0) == 0) {
      auto colon = reason.find(": ");
      reason = colon == std::string::npos ? "" : reason.substr(colon + 2);
      break;
    }
  }
  if (auto pos = reason.find("Failed to connect to remote host: "); pos != std::string::npos) {
    reason = reason.substr(pos + 34);
  }
  if (reason.find("andshake failed") != std::string::npos) {
    auto last = reason.rfind(':');
    std::string why = last == std::string::npos ? "" : reason.substr(last + 1);
    return "TLS handshake failed" + (why.empty() ? "" : " (" + why + ")");
  }
  if (reason.size() > 1 && std::isupper(static_cast<unsigned char>(reason[0])) &&
      std::islower(static_cast<unsigned char>(reason[1]))) {
    reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
  }
  return reason.empty() ? "connection failed" : reason;
}

}  // namespace

grpc::Status unreachable_status(const grpc::Status& status, const std::string& address) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return status;
  const std::string& message = status.error_message();
  const std::string where = kUnreachablePrefix + (address.empty() ? "its address" : address);
  if (message.rfind("DNS resolution failed", 0) == 0) {
    auto last = message.rfind(": ");
    std::string detail = last == std::string::npos ? "" : " (" + message.substr(last + 2) + ")";
    return grpc::Status(status.error_code(), where + ": the host name does not resolve" + detail);
  }
  if (message.rfind("failed to connect to all addresses", 0) == 0) {
    return grpc::Status(status.error_code(), where + ": " + connect_reason(message));
  }
  return status;
}

bool is_unreachable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         status.error_message().rfind(kUnreachablePrefix, 0) == 0;
}

std::string describe_status(const grpc::Status& status, const std::string& job_code,
                            const std::string& job_request_id) {
  std::string message = status.error_message();
  // jobgw says the code in its message too; the trailer's copy below is the one kept.
  if (!job_code.empty()) {
    const std::string said = " (JOB code " + job_code + ")";
    if (auto pos = message.find(said); pos != std::string::npos) message.erase(pos, said.size());
  }
  std::string out = std::string(api::grpc_code_name(status.error_code())) + ": " + message;
  if (!job_code.empty()) out += " (job_code=" + job_code;
  if (!job_request_id.empty()) {
    out += job_code.empty() ? " (" : " ";
    out += "request_id=" + job_request_id;
  }
  if (!job_code.empty() || !job_request_id.empty()) out += ")";
  return out;
}

GatewayClient::GatewayClient(std::shared_ptr<grpc::Channel> channel,
                             std::chrono::milliseconds rpc_timeout)
    : channel_(std::move(channel)),
      stub_(v1::JobGateway::NewStub(channel_)),
      rpc_timeout_(rpc_timeout) {}

void GatewayClient::authorize(grpc::ClientContext* context) const {
  if (!bearer_token_.empty()) context->AddMetadata("authorization", "Bearer " + bearer_token_);
}

std::shared_ptr<grpc::Channel> GatewayClient::insecure_channel(const std::string& address) {
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   channel_arguments());
}

grpc::Status GatewayClient::explain(grpc::Status status) const {
  return unreachable_status(status, address_);
}

template <typename Req, typename Resp, typename Fn>
CallResult<Resp> GatewayClient::unary(const Req& request, Fn fn) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + rpc_timeout_);
  authorize(&context);
  CallResult<Resp> result;
  result.status = explain((stub_.get()->*fn)(&context, request, &result.response));
  result.job_code = trailer(context, kJobCodeTrailer);
  result.job_request_id = trailer(context, kJobRequestIdTrailer);
  return result;
}

CallResult<v1::JobRef> GatewayClient::execute_script(const v1::ExecuteScriptRequest& request) {
  return unary<v1::ExecuteScriptRequest, v1::JobRef>(request, &v1::JobGateway::Stub::ExecuteScript);
}

CallResult<v1::JobRef> GatewayClient::transfer_file(const v1::TransferFileRequest& request) {
  return unary<v1::TransferFileRequest, v1::JobRef>(request, &v1::JobGateway::Stub::TransferFile);
}

CallResult<v1::JobSnapshot> GatewayClient::get_job_status(const v1::GetJobStatusRequest& request) {
  return unary<v1::GetJobStatusRequest, v1::JobSnapshot>(request,
                                                         &v1::JobGateway::Stub::GetJobStatus);
}

CallResult<v1::GetIpLogsResponse> GatewayClient::get_ip_logs(const v1::GetIpLogsRequest& request) {
  return unary<v1::GetIpLogsRequest, v1::GetIpLogsResponse>(request,
                                                            &v1::JobGateway::Stub::GetIpLogs);
}

CallResult<v1::GetIpLogsResponse> GatewayClient::for_each_ip_logs_page(
    const v1::GetIpLogsRequest& request,
    const std::function<void(const v1::GetIpLogsResponse&)>& on_page) {
  v1::GetIpLogsRequest page_request = request;
  if (page_request.max_response_bytes() == 0) {
    page_request.set_max_response_bytes(kDefaultLogPageBytes);
  }
  while (true) {
    auto page = get_ip_logs(page_request);
    if (!page.ok()) return page;
    on_page(page.response);
    const std::string& next = page.response.next_page_token();
    if (next.empty()) return page;
    if (next == page_request.page_token()) {
      page.status = grpc::Status(grpc::StatusCode::INTERNAL,
                                 "GetIpLogs returned the page_token it was given; paging would "
                                 "not end");
      return page;
    }
    page_request.set_page_token(next);
  }
}

CallResult<v1::GetIpLogsResponse> GatewayClient::get_all_ip_logs(
    const v1::GetIpLogsRequest& request) {
  v1::GetIpLogsResponse all;
  auto last = for_each_ip_logs_page(request, [&](const v1::GetIpLogsResponse& page) {
    all.set_log_type(page.log_type());
    all.mutable_script_logs()->MergeFrom(page.script_logs());
    all.mutable_file_logs()->MergeFrom(page.file_logs());
  });
  if (last.ok()) last.response = std::move(all);
  return last;
}

CallResult<v1::TerminateJobResponse> GatewayClient::terminate_job(
    const v1::TerminateJobRequest& request) {
  return unary<v1::TerminateJobRequest, v1::TerminateJobResponse>(
      request, &v1::JobGateway::Stub::TerminateJob);
}

CallResult<v1::ListJobsResponse> GatewayClient::list_jobs(const v1::ListJobsRequest& request) {
  return unary<v1::ListJobsRequest, v1::ListJobsResponse>(request, &v1::JobGateway::Stub::ListJobs);
}

CallResult<v1::ListJobPlansResponse> GatewayClient::list_job_plans(
    const v1::ListJobPlansRequest& request) {
  return unary<v1::ListJobPlansRequest, v1::ListJobPlansResponse>(
      request, &v1::JobGateway::Stub::ListJobPlans);
}

CallResult<v1::JobPlan> GatewayClient::get_job_plan(const v1::GetJobPlanRequest& request) {
  return unary<v1::GetJobPlanRequest, v1::JobPlan>(request, &v1::JobGateway::Stub::GetJobPlan);
}

CallResult<v1::JobRef> GatewayClient::execute_job_plan(const v1::ExecuteJobPlanRequest& request) {
  return unary<v1::ExecuteJobPlanRequest, v1::JobRef>(request,
                                                      &v1::JobGateway::Stub::ExecuteJobPlan);
}

CallResult<v1::OperateStepResponse> GatewayClient::operate_step(
    const v1::OperateStepRequest& request) {
  return unary<v1::OperateStepRequest, v1::OperateStepResponse>(request,
                                                                &v1::JobGateway::Stub::OperateStep);
}

CallResult<v1::JobOutputs> GatewayClient::get_job_outputs(const v1::GetJobOutputsRequest& request) {
  return unary<v1::GetJobOutputsRequest, v1::JobOutputs>(request,
                                                         &v1::JobGateway::Stub::GetJobOutputs);
}

CallResult<ServingStatus> GatewayClient::check_health(const std::string& service) {
  grpc::GenericStub generic(channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + rpc_timeout_);
  authorize(&context);
  std::string body = encode_health_request(service);
  grpc::Slice slice(body);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  CallResult<ServingStatus> result;
  generic.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status s) {
                      std::lock_guard<std::mutex> lock(mu);
                      result.status = std::move(s);
                      done = true;
                      cv.notify_one();
                    });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
  }
  result.status = explain(std::move(result.status));
  result.response = ServingStatus::kUnknown;
  if (result.status.ok()) {
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (response.Dump(&slices).ok()) {
      for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    if (!decode_health_response(bytes, &result.response)) {
      result.status = grpc::Status(grpc::StatusCode::INTERNAL, "undecodable health response");
    }
  }
  return result;
}

WatchResult GatewayClient::watch(const v1::Scope& scope, std::int64_t job_instance_id,
                                 std::uint64_t after_seq, const EventHandler& on_event,
                                 const WatchOptions& options) {
  auto open = [&](grpc::ClientContext* context, std::uint64_t seq) {
    authorize(context);
    v1::WatchStatusRequest request;
    *request.mutable_scope() = scope;
    request.set_job_instance_id(job_instance_id);
    request.set_after_seq(seq);
    request.set_detail(options.detail);
    return stub_->WatchStatus(context, request);
  };
  auto handle = [&](const v1::StatusEvent& event) {
    if (on_event) on_event(event);
    return event.kind() == v1::EVENT_KIND_FINISHED;
  };
  StreamRun run = run_stream<v1::StatusEvent>(
      open, after_seq, handle, options, [this](grpc::Status s) { return explain(std::move(s)); },
      [this, &options](std::chrono::milliseconds d) {
        return wait_to_reconnect(*channel_, d, options.cancel);
      });
  WatchResult result;
  result.status = std::move(run.status);
  result.job_code = std::move(run.job_code);
  result.job_request_id = std::move(run.job_request_id);
  result.last_seq = run.last_seq;
  result.finished = run.finished;
  result.reconnects = run.reconnects;
  return result;
}

FollowLogsResult GatewayClient::follow_logs(const v1::FollowLogsRequest& request,
                                            const LogEventHandler& on_event,
                                            const WatchOptions& options) {
  auto open = [&](grpc::ClientContext* context, std::uint64_t seq) {
    authorize(context);
    v1::FollowLogsRequest call = request;
    call.set_after_seq(seq);
    return stub_->FollowLogs(context, call);
  };
  auto handle = [&](const v1::LogEvent& event) {
    if (on_event) on_event(event);
    return false;
  };
  StreamRun run = run_stream<v1::LogEvent>(
      open, request.after_seq(), handle, options,
      [this](grpc::Status s) { return explain(std::move(s)); },
      [this, &options](std::chrono::milliseconds d) {
        return wait_to_reconnect(*channel_, d, options.cancel);
      });
  FollowLogsResult result;
  result.status = std::move(run.status);
  result.job_code = std::move(run.job_code);
  result.job_request_id = std::move(run.job_request_id);
  result.last_seq = run.last_seq;
  result.reconnects = run.reconnects;
  return result;
}

}  // namespace jobgw::client
