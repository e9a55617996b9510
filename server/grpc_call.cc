#include "server/grpc_call.h"

namespace jobgw::server {

Presented presented_by(const grpc::ServerContextBase& context) {
  Presented p;
  const auto& metadata = context.client_metadata();
  auto range = metadata.equal_range("authorization");
  for (auto it = range.first; it != range.second; ++it) {
    p.authorization.emplace_back(it->second.data(), it->second.size());
  }
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth && auth->IsPeerAuthenticated()) {
    for (const char* property : {"x509_common_name", "x509_subject_alternative_name"}) {
      for (const auto& value : auth->FindPropertyValues(property)) {
        p.certificate_names.emplace_back(value.data(), value.size());
      }
    }
  }
  return p;
}

grpc::Status to_grpc(const CallStatus& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code), status.message);
}

void add_trailers(const CallStatus& status, grpc::ServerContextBase* context) {
  for (const auto& [key, value] : status.trailers) context->AddTrailingMetadata(key, value);
}

CallInput input_of(const grpc::ServerContextBase& context) {
  CallInput input;
  input.presented = presented_by(context);
  input.deadline = context.deadline();
  return input;
}

Call::Respond unary_respond(grpc::CallbackServerContext* context,
                            grpc::ServerUnaryReactor* reactor) {
  return [context, reactor](const CallStatus& status) {
    add_trailers(status, context);
    reactor->Finish(to_grpc(status));
  };
}

}  // namespace jobgw::server
