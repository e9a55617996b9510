#pragma once

#include <string>

#include "core/security/credentials.h"

// A credentials file for suites that need tokens (the binary links jobgw_core for the hash).
namespace jobgw::testing {

inline constexpr char kOpsToken[] = "ops-token-0123456789abcdef";
inline constexpr char kReaderToken[] = "reader-token-0123456789abcdef";

// Two callers: "ops" may execute, read and terminate in every biz; "reader" may read biz:1.
inline std::string ops_and_reader_credentials() {
  auto entry = [](const std::string& name, const std::string& token, const std::string& grants) {
    return R"({"name": ")" + name + R"(", "token_sha256": ")" + core::token_sha256_hex(token) +
           R"(", )" + grants + "}";
  };
  return R"({"callers": [)" +
         entry("ops", kOpsToken,
               R"("scopes": ["biz:*"], "operations": ["execute", "read", "terminate"])") +
         "," + entry("reader", kReaderToken, R"("scopes": ["biz:1"], "operations": ["read"])") +
         "]}";
}

}  // namespace jobgw::testing
