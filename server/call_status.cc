#include "server/call_status.h"

#include "api/status_names.h"

namespace jobgw::server {

const char* code_name(StatusCode code) {
  return api::grpc_code_name(static_cast<grpc::StatusCode>(code));
}

}  // namespace jobgw::server
