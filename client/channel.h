#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace jobgw::client {

// How to reach jobgw: plaintext, TLS (server verified against ca_file, or the system roots when
// it is empty), or mutual TLS (cert_file + key_file presented as the client's identity).
struct ChannelOptions {
  std::string address;
  bool tls = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // The name the server certificate must carry when it differs from the address's host.
  std::string server_name;
};

// Arguments every jobctl channel gets: gRPC's reconnect backoff capped at 500 ms (its default
// grows to 2 minutes), so a restarted jobgw is reached within a second of listening again.
grpc::ChannelArguments channel_arguments();

// A channel per `options`, or null with *error saying which option's file could not be read.
std::shared_ptr<grpc::Channel> open_channel(const ChannelOptions& options, std::string* error);

}  // namespace jobgw::client
