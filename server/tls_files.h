#pragma once

#include <string>

#include "core/base/result.h"

namespace jobgw::server {

// A listener's PEM files and the configuration keys that named them, so every startup error
// says which key and which file is wrong.
struct TlsFiles {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // optional
  std::string cert_key = "tls.cert_file";
  std::string key_key = "tls.key_file";
  std::string client_ca_key = "tls.client_ca_file";
};

// Reads every file as a TLS library would: the certificate chain holds at least one PEM
// certificate, the key file a PEM private key matching the first certificate, the CA file at
// least one PEM certificate. gRPC's file watcher only logs such problems and then fails every
// handshake, so jobgw checks them itself before it starts listening.
core::Result<void> check_tls_files(const TlsFiles& files);

}  // namespace jobgw::server
