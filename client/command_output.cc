#include "client/command_output.h"

#include <google/protobuf/util/json_util.h>

#include "client/commands.h"

namespace jobgw::client {

std::string to_json(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, opts);
  return json;
}

int report_rpc_error(std::ostream& err, const char* rpc, const grpc::Status& status,
                     const std::string& job_code, const std::string& job_request_id) {
  err << "jobctl: " << rpc << ": " << describe_status(status, job_code, job_request_id) << "\n";
  return kExitRpcError;
}

}  // namespace jobgw::client
