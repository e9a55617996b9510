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

std::string json_escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  return out;
}

int report_rpc_error(std::ostream& err, const char* rpc, const grpc::Status& status,
                     const std::string& job_code, const std::string& job_request_id) {
  // Which call found jobgw unreachable says nothing more to the user.
  if (is_unreachable(status)) {
    err << "jobctl: " << status.error_message() << "\n";
    return kExitRpcError;
  }
  err << "jobctl: " << rpc << ": " << describe_status(status, job_code, job_request_id) << "\n";
  return kExitRpcError;
}

}  // namespace jobgw::client
