#include "client/channel.h"

#include <fstream>
#include <sstream>

namespace jobgw::client {
namespace {

bool read_file(const std::string& flag, const std::string& path, std::string* out,
               std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = flag + " " + path + ": cannot be read";
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  *out = text.str();
  if (out->empty()) {
    *error = flag + " " + path + ": empty file";
    return false;
  }
  return true;
}

}  // namespace

grpc::ChannelArguments channel_arguments() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  return args;
}

std::shared_ptr<grpc::Channel> open_channel(const ChannelOptions& options, std::string* error) {
  if (!options.tls) {
    return grpc::CreateCustomChannel(options.address, grpc::InsecureChannelCredentials(),
                                     channel_arguments());
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty() &&
      !read_file("--ca-file", options.ca_file, &ssl.pem_root_certs, error)) {
    return nullptr;
  }
  if (!options.cert_file.empty() &&
      (!read_file("--cert-file", options.cert_file, &ssl.pem_cert_chain, error) ||
       !read_file("--key-file", options.key_file, &ssl.pem_private_key, error))) {
    return nullptr;
  }
  grpc::ChannelArguments args = channel_arguments();
  if (!options.server_name.empty()) args.SetSslTargetNameOverride(options.server_name);
  return grpc::CreateCustomChannel(options.address, grpc::SslCredentials(ssl), args);
}

}  // namespace jobgw::client
