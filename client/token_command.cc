#include "client/token_command.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <string>

namespace jobgw::client {
namespace {

std::string hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string token_digest_hex(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), digest, &len, EVP_sha256(), nullptr);
  return hex(digest, len);
}

std::string credentials_entry(const std::string& digest_hex) {
  return "{\n"
         "  \"name\": \"CHANGE-ME\",\n"
         "  \"token_sha256\": \"" +
         digest_hex +
         "\",\n"
         "  \"scopes\": [\"biz:1\"],\n"
         "  \"operations\": [\"read\"],\n"
         "  \"operator\": \"\",\n"
         "  \"operator_override\": false,\n"
         "  \"certificate_names\": []\n"
         "}\n";
}

int run_token(const CliCommand& c, CommandIo& io) {
  std::string token;
  if (c.generate_token) {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
      io.err << "jobctl: no random bytes available for a token\n";
      return kExitRpcError;
    }
    token = hex(bytes, sizeof bytes);
    io.err << "token (shown once; give it to the caller, jobgw keeps only its hash):\n"
           << token << "\n";
  } else {
    std::getline(io.in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == '\n')) token.pop_back();
    if (token.empty()) {
      io.err << "jobctl: token hash reads the token from stdin (one line); none given. "
                "Use --generate to make one.\n";
      return kExitUsage;
    }
  }
  io.out << credentials_entry(token_digest_hex(token));
  return kExitOk;
}

}  // namespace jobgw::client
