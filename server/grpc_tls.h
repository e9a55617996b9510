#pragma once

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "core/base/result.h"

namespace jobgw::server {

struct GrpcTlsOptions {
  std::string cert_file;  // empty: plaintext
  std::string key_file;
  std::string client_ca_file;  // empty: no client certificates asked for
  bool require_client_cert = false;
  unsigned reload_interval_s = 60;
};

// The gRPC listener's credentials. Without a certificate: insecure. With one: TLS from files
// that gRPC re-reads every reload_interval_s, so a renewed certificate (or client CA) is served
// to new connections without a restart. With a client CA, a presented client certificate must
// chain to it (a bad one fails the handshake, which clients see as UNAVAILABLE); it is required
// only with require_client_cert, so bearer-token callers without one still get through.
// Fails, naming the key and file, when a file is missing, unreadable or the key does not match.
core::Result<std::shared_ptr<grpc::ServerCredentials>> grpc_server_credentials(
    const GrpcTlsOptions& options);

}  // namespace jobgw::server
