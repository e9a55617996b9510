// The bytes of a gRPC request, parsed as each request message the gateway serves, through
// server/request_validation (proto -> domain) and then, for what passes, core/job_codec's encoders
// in both API modes (apigw and esb) and server/proto_mapping back to proto. Properties: a rejected
// request is INVALID_ARGUMENT naming a field; an accepted one encodes to a JOB call whose body is
// JSON (or is refused as INVALID_ARGUMENT, never thrown); hosts and scopes survive the round trip.

#include <google/protobuf/stubs/logging.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/job/job_codec.h"
#include "fuzz/fuzz_check.h"
#include "jobgw/v1/job_gateway.pb.h"
#include "server/proto_mapping.h"
#include "server/request_validation.h"

namespace {

namespace core = jobgw::core;
namespace server = jobgw::server;
namespace v1 = jobgw::v1;

const core::JobCodec& codec(core::ApiMode mode) {
  static const core::JobCodec apigw(core::JobApiSettings{core::ApiMode::kApigw, "app", "secret"});
  static const core::JobCodec esb(core::JobApiSettings{core::ApiMode::kEsb, "app", "secret"});
  return mode == core::ApiMode::kApigw ? apigw : esb;
}

template <typename T>
void check_rejection(const core::Result<T>& result) {
  if (result) return;
  const core::Error& e = result.error();
  FUZZ_CHECK(e.kind == core::ErrorKind::kInvalidArgument, "bad input is INVALID_ARGUMENT");
  FUZZ_CHECK(!e.message.empty() && std::islower(static_cast<unsigned char>(e.message[0])),
             "the message starts with the field path");
  FUZZ_CHECK(e.message.find(": ") != std::string::npos, "the message is 'field: reason'");
}

void check_call(const core::Result<core::EncodedCall>& call, core::ApiMode mode) {
  if (!call) {
    FUZZ_CHECK(call.error().kind == core::ErrorKind::kInvalidArgument,
               "an encoder refuses only with INVALID_ARGUMENT");
    return;
  }
  const std::string prefix =
      mode == core::ApiMode::kApigw ? "/api/v3/" : "/api/c/compapi/v2/jobv3/";
  FUZZ_CHECK(call->target.rfind(prefix, 0) == 0, "the call goes to the mode's path");
  if (call->method == "POST") {
    auto body = nlohmann::json::parse(call->body, nullptr, /*allow_exceptions=*/false);
    FUZZ_CHECK(body.is_object(), "a POST body is a JSON object");
  } else {
    FUZZ_CHECK(call->method == "GET" && call->body.empty(), "a GET has no body");
  }
}

void check_call(const core::EncodedCall& call, core::ApiMode mode) {
  check_call(core::Result<core::EncodedCall>(call), mode);
}

// Domain -> proto -> domain gives the same host and scope back.
void check_round_trip(const core::Scope& scope) {
  v1::Scope proto;
  server::to_proto(scope, &proto);
  auto again = server::to_scope(proto);
  FUZZ_CHECK(again && again->type == scope.type && again->id == scope.id, "scope round trip");
}

void check_round_trip(const core::Targets& targets) {
  for (const core::Host& host : targets.hosts) {
    v1::Host proto;
    server::to_proto(host, &proto);
    auto again = server::to_host(proto, "host");
    FUZZ_CHECK(again && *again == host, "host round trip");
  }
}

template <typename Message>
bool parse(const std::uint8_t* data, std::size_t size, Message& out) {
  return out.ParseFromArray(data, static_cast<int>(size));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // proto3 strings that are not UTF-8 fail the parse, as they do in gRPC; protobuf logs each one.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const core::ApiMode modes[] = {core::ApiMode::kApigw, core::ApiMode::kEsb};

  if (v1::ExecuteScriptRequest m; parse(data, size, m)) {
    auto r = server::to_execute_script(m);
    check_rejection(r);
    if (r) {
      check_round_trip(r->scope);
      check_round_trip(r->targets);
      for (auto mode : modes) check_call(codec(mode).execute_script(*r), mode);
    }
  }
  if (v1::TransferFileRequest m; parse(data, size, m)) {
    auto r = server::to_transfer_file(m);
    check_rejection(r);
    if (r) {
      check_round_trip(r->targets);
      for (const auto& source : r->sources) check_round_trip(source.servers);
      for (auto mode : modes) check_call(codec(mode).transfer_file(*r), mode);
    }
  }
  if (v1::GetJobStatusRequest m; parse(data, size, m)) {
    auto r = server::to_job_status(m);
    check_rejection(r);
    if (r) {
      FUZZ_CHECK(r->job_instance_id > 0, "a status read names a job");
      for (auto mode : modes) check_call(codec(mode).get_job_instance_status(*r), mode);
    }
  }
  if (v1::GetIpLogsRequest m; parse(data, size, m)) {
    auto r = server::to_ip_logs(m);
    check_rejection(r);
    if (r) {
      for (auto mode : modes) {
        check_call(codec(mode).batch_get_job_instance_ip_log(*r), mode);
        if (r->hosts.size() + r->host_ids.size() == 1) {
          check_call(codec(mode).get_job_instance_ip_log(*r), mode);
        }
      }
    }
  }
  if (v1::TerminateJobRequest m; parse(data, size, m)) {
    auto r = server::to_terminate(m);
    check_rejection(r);
    if (r) {
      FUZZ_CHECK(r->operation_code == 1, "terminate is operation 1");
      for (auto mode : modes) check_call(codec(mode).operate_job_instance(*r), mode);
    }
  }
  if (v1::WatchStatusRequest m; parse(data, size, m)) {
    auto r = server::to_watch(m);
    check_rejection(r);
    if (r) {
      FUZZ_CHECK(r->job_instance_id > 0, "a watch names a job");
      FUZZ_CHECK(!r->after_seq || *r->after_seq == m.after_seq(), "after_seq kept as sent");
    }
  }
  return 0;
}
