#pragma once

#include <chrono>
#include <string>

#include "tests/support/http_client.h"

namespace jobgw::testing {

// One blocking HTTPS/1.1 exchange with 127.0.0.1:`port` that trusts only `ca_file` and checks
// the certificate names 127.0.0.1. Never throws; a refused handshake or any transport failure
// is reported in HttpResponse::error.
HttpResponse https_request(const std::string& method, int port, const std::string& target,
                           const std::string& ca_file, const std::string& body = "",
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace jobgw::testing
