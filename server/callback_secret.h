#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/base/result.h"

namespace jobgw::server {

// The per-job secret in the callback URL jobgw gives JOB: `token=<nonce>.<mac>` is appended to
// the URL's query, the mac being HMAC-SHA256 of the nonce under a key only jobgw knows. The
// callback endpoint refuses (403) anything without a token this key made, so nobody who can
// reach the endpoint but never saw a submit's URL can poke the hub. The key lives in a file, so
// callbacks of jobs submitted before a restart still verify.
class CallbackSecret {
 public:
  using RandomBytes = std::function<std::string(std::size_t)>;

  static constexpr std::size_t kKeyBytes = 32;
  static constexpr std::size_t kNonceBytes = 16;
  static constexpr std::string_view kParam = "token";

  // The key in `path` (hex, one line), or a fresh one written there with mode 0600 when the file
  // does not exist. Errors name the file; the key itself is never part of one.
  static core::Result<CallbackSecret> load_or_create(const std::string& path,
                                                     RandomBytes random = {});
  // A key held only in memory: tokens minted before a restart stop verifying.
  static CallbackSecret ephemeral(RandomBytes random = {});

  // `key` is the raw HMAC key; `random` makes nonces (default: OpenSSL's RAND_bytes).
  explicit CallbackSecret(std::string key, RandomBytes random = {});

  // base_url with a fresh token appended to its query.
  std::string mint(const std::string& base_url) const;
  // True when the request target (path?query) carries a token made with this key. Constant time
  // in the mac comparison.
  bool verify(std::string_view target) const;

  // A URL as it may appear in a log line: without its query, where the token is.
  static std::string without_query(std::string_view url);

 private:
  std::string mac_hex(std::string_view nonce_hex) const;

  std::string key_;
  RandomBytes random_;
};

// Cryptographically random bytes from OpenSSL; throws only if OpenSSL cannot seed itself.
std::string secure_random_bytes(std::size_t n);

}  // namespace jobgw::server
