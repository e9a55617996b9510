#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>

#include "server/authorizer.h"
#include "server/call.h"
#include "server/call_status.h"

// The gRPC side of the call pipeline (server/call.h): what a call presents, its deadline, and how
// a CallStatus finishes a gRPC call.
namespace jobgw::server {

// The metadata and, on a TLS channel with a verified client certificate, the certificate's names.
Presented presented_by(const grpc::ServerContextBase& context);

grpc::Status to_grpc(const CallStatus& status);
// Adds the status's trailers to the call; before Finish.
void add_trailers(const CallStatus& status, grpc::ServerContextBase* context);

// The JOB deadline of a call: the caller's gRPC deadline, capped at `cap`.
core::Deadline deadline_of(const grpc::ServerContextBase& context, std::chrono::milliseconds cap);

// A Call answering one unary RPC: its status finishes the reactor, with trailers.
std::shared_ptr<Call> unary_call(CallServices services, CallSpec spec,
                                 grpc::CallbackServerContext* context,
                                 grpc::ServerUnaryReactor* reactor);

}  // namespace jobgw::server
