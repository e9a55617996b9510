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

// What a gRPC call hands the pipeline: its metadata, certificate names and deadline.
CallInput input_of(const grpc::ServerContextBase& context);

// The respond of a Call answering one unary RPC: its status finishes the reactor, with trailers.
Call::Respond unary_respond(grpc::CallbackServerContext* context,
                            grpc::ServerUnaryReactor* reactor);

}  // namespace jobgw::server
