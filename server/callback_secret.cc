#include "server/callback_secret.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace jobgw::server {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool from_hex(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  out->clear();
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_value(hex[i]);
    int lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    *out += static_cast<char>((hi << 4) | lo);
  }
  return true;
}

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

core::Error key_error(const std::string& path, const std::string& why) {
  return core::Error::invalid_argument("callback.secret_file " + path + ": " + why);
}

// The value of query parameter `name` in a request target, or nullopt.
std::optional<std::string_view> query_param(std::string_view target, std::string_view name) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  auto hash = query.find('#');
  if (hash != std::string_view::npos) query = query.substr(0, hash);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return std::nullopt;
}

}  // namespace

std::string secure_random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return out;
}

CallbackSecret::CallbackSecret(std::string key, RandomBytes random)
    : key_(std::move(key)),
      random_(random ? std::move(random) : RandomBytes(secure_random_bytes)) {}

CallbackSecret CallbackSecret::ephemeral(RandomBytes random) {
  RandomBytes r = random ? std::move(random) : RandomBytes(secure_random_bytes);
  std::string key = r(kKeyBytes);
  return CallbackSecret(std::move(key), std::move(r));
}

core::Result<CallbackSecret> CallbackSecret::load_or_create(const std::string& path,
                                                            RandomBytes random) {
  RandomBytes r = random ? std::move(random) : RandomBytes(secure_random_bytes);
  // O_EXCL: two jobgw processes starting at once never overwrite each other's key.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    std::string text = to_hex(r(kKeyBytes)) + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ok = ::fsync(fd) == 0 && ok;
    ::close(fd);
    if (!ok) {
      ::unlink(path.c_str());
      return key_error(path, std::string("cannot be written: ") + std::strerror(errno));
    }
  } else if (errno != EEXIST) {
    return key_error(path, std::string("cannot be created: ") + std::strerror(errno));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return key_error(path, std::string("cannot be read: ") + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  std::string hex = text.str();
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r' || hex.back() == ' ')) {
    hex.pop_back();
  }
  std::string key;
  if (!from_hex(hex, &key) || key.size() < kKeyBytes) {
    return key_error(
        path, "expected at least " + std::to_string(kKeyBytes * 2) + " hex digits on one line");
  }
  return CallbackSecret(std::move(key), std::move(r));
}

std::string CallbackSecret::mac_hex(std::string_view nonce_hex) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(nonce_hex.data()), nonce_hex.size(), mac, &mac_len);
  return to_hex(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

std::string CallbackSecret::mint(const std::string& base_url) const {
  std::string nonce = to_hex(random_(kNonceBytes));
  std::string url = base_url;
  url += base_url.find('?') == std::string::npos ? '?' : '&';
  url += std::string(kParam) + "=" + nonce + "." + mac_hex(nonce);
  return url;
}

bool CallbackSecret::verify(std::string_view target) const {
  auto token = query_param(target, kParam);
  if (!token) return false;
  auto dot = token->find('.');
  if (dot == std::string_view::npos) return false;
  std::string_view nonce = token->substr(0, dot);
  std::string_view mac = token->substr(dot + 1);
  if (nonce.size() != kNonceBytes * 2 || !is_lower_hex(nonce)) return false;
  std::string expected = mac_hex(nonce);
  return mac.size() == expected.size() &&
         CRYPTO_memcmp(mac.data(), expected.data(), expected.size()) == 0;
}

std::string CallbackSecret::without_query(std::string_view url) {
  return std::string(url.substr(0, url.find('?')));
}

}  // namespace jobgw::server
