#include <memory>

#include "core/logs/log_follow_hub.h"
#include "server/grpc_call.h"
#include "server/job_gateway_service.h"
#include "server/proto_mapping.h"
#include "server/service_calls.h"
#include "server/stream_reactor.h"

// WatchStatus and FollowLogs: the pipeline and the source each stream pulls from, for every
// transport, and their gRPC reactors.
namespace jobgw::server {

std::unique_ptr<Call> JobGatewayService::stream_call(const char* method, const v1::Scope& scope,
                                                     std::int64_t job_instance_id,
                                                     Call::Respond respond) {
  CallSpec spec = call_spec(method, scope, job_instance_id);
  spec.stream = true;
  return std::make_unique<Call>(services(), std::move(spec), std::move(respond));
}

std::shared_ptr<core::Subscription> JobGatewayService::open_watch(
    Call& call, const CallInput& input, const v1::WatchStatusRequest& request) {
  auto target = call.begin(input.presented, [&request] { return to_watch(request); },
                           core::Operation::kRead, {});
  if (!target) return nullptr;
  auto subscription =
      hub_.subscribe(target->scope, target->job_instance_id, target->after_seq, target->detail);
  if (subscription == nullptr) {
    call.finish(
        CallStatus(StatusCode::kUnavailable, "jobgw is shutting down; reconnect with after_seq"),
        "no subscription");
  }
  return subscription;
}

std::shared_ptr<core::LogFollower> JobGatewayService::open_follow(
    Call& call, const CallInput& input, const v1::FollowLogsRequest& request) {
  const std::size_t max_hosts = options_.follow_max_hosts;
  auto target = call.begin(
      input.presented, [&request, max_hosts] { return to_follow(request, max_hosts); },
      core::Operation::kRead, request.operator_());
  if (!target) return nullptr;
  if (options_.logs == nullptr) {
    call.finish(CallStatus(StatusCode::kUnimplemented, "FollowLogs is not served by this jobgw"));
    return nullptr;
  }
  auto follower =
      options_.logs->follow(target->scope, target->job_instance_id, target->step_instance_id,
                            std::move(target->hosts), target->after_seq);
  if (follower == nullptr) {
    call.finish(
        CallStatus(StatusCode::kUnavailable, "jobgw is shutting down; reconnect with after_seq"),
        "no follower");
  }
  return follower;
}

grpc::ServerWriteReactor<v1::StatusEvent>* JobGatewayService::WatchStatus(
    grpc::CallbackServerContext* context, const v1::WatchStatusRequest* request) {
  using Reactor =
      StreamReactor<v1::StatusEvent, core::Subscription, core::WatchItem, core::WatchEvent>;
  return new Reactor(
      context,
      [&](Call::Respond respond) {
        return stream_call("WatchStatus", request->scope(), request->job_instance_id(),
                           std::move(respond));
      },
      [&](Call& call) { return open_watch(call, input_of(*context), *request); },
      [](const core::WatchEvent& event, v1::StatusEvent* out) { to_proto(event, out); });
}

grpc::ServerWriteReactor<v1::LogEvent>* JobGatewayService::FollowLogs(
    grpc::CallbackServerContext* context, const v1::FollowLogsRequest* request) {
  using Reactor = StreamReactor<v1::LogEvent, core::LogFollower, core::LogItem, core::LogEvent>;
  return new Reactor(
      context,
      [&](Call::Respond respond) {
        return stream_call("FollowLogs", request->scope(), request->job_instance_id(),
                           std::move(respond));
      },
      [&](Call& call) { return open_follow(call, input_of(*context), *request); },
      [](const core::LogEvent& event, v1::LogEvent* out) { to_proto(event, out); });
}

}  // namespace jobgw::server
