#pragma once

#include <google/protobuf/message.h>

#include <ostream>
#include <string>

#include "client/gateway_client.h"

namespace jobgw::client {

// jobctl's JSON form of a message: one line, proto field names as in the .proto file.
std::string to_json(const google::protobuf::Message& message);

// `text` as the inside of a JSON string (quotes, backslashes and control characters escaped).
std::string json_escape(const std::string& text);

// "jobctl: RPC: CODE: message (job_code=... request_id=...)" on `err`, or for a jobgw that could
// not be reached "jobctl: cannot reach jobgw at ADDR: connection refused"; returns jobctl's
// exit code for a failed call.
int report_rpc_error(std::ostream& err, const char* rpc, const grpc::Status& status,
                     const std::string& job_code, const std::string& job_request_id);

template <typename T>
int report_rpc_error(std::ostream& err, const char* rpc, const CallResult<T>& result) {
  return report_rpc_error(err, rpc, result.status, result.job_code, result.job_request_id);
}

}  // namespace jobgw::client
