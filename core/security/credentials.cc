#include "core/security/credentials.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace jobgw::core {

namespace {

using nlohmann::json;

constexpr Operation kOperations[] = {Operation::kExecute, Operation::kTransfer, Operation::kRead,
                                     Operation::kTerminate, Operation::kOperate};

TokenDigest digest_of(std::string_view token) {
  TokenDigest d{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d.data());
  return d;
}

std::optional<TokenDigest> parse_hex_digest(const std::string& hex) {
  if (hex.size() != 64) return std::nullopt;
  TokenDigest d{};
  for (std::size_t i = 0; i < 32; ++i) {
    int byte = 0;
    for (int half = 0; half < 2; ++half) {
      const char c = hex[2 * i + half];
      int v;
      if (c >= '0' && c <= '9')
        v = c - '0';
      else if (c >= 'a' && c <= 'f')
        v = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v = c - 'A' + 10;
      else
        return std::nullopt;
      byte = byte * 16 + v;
    }
    d[i] = static_cast<unsigned char>(byte);
  }
  return d;
}

std::optional<ScopeGrant> parse_scope_grant(const std::string& text) {
  if (text == "*") return ScopeGrant{"*", "*"};
  const auto colon = text.find(':');
  if (colon == std::string::npos) return std::nullopt;
  ScopeGrant g{text.substr(0, colon), text.substr(colon + 1)};
  if (g.type != "biz" && g.type != "biz_set") return std::nullopt;
  if (g.id.empty()) return std::nullopt;
  if (g.id != "*") {
    for (char c : g.id) {
      if (c < '0' || c > '9') return std::nullopt;
    }
  }
  return g;
}

Error file_error(std::string message) { return Error::invalid_argument(std::move(message)); }

// Reads one entry; `where` is "callers[3]" for messages.
Result<Caller> parse_caller(const json& entry, const std::string& where) {
  if (!entry.is_object()) return file_error(where + ": expected an object");
  static const std::set<std::string> kKnown = {
      "name",     "token_sha256",      "scopes",           "operations",
      "operator", "operator_override", "certificate_names"};
  for (const auto& [key, value] : entry.items()) {
    if (key == "token") {
      return file_error(where +
                        ".token: plain-text tokens are not accepted; store its SHA-256 as "
                        "token_sha256 (jobctl token hash)");
    }
    if (!kKnown.count(key)) return file_error(where + "." + key + ": unknown field");
  }
  Caller c;
  auto string_field = [&](const char* key, std::string* out) -> std::optional<Error> {
    auto it = entry.find(key);
    if (it == entry.end()) return std::nullopt;
    if (!it->is_string()) return file_error(where + "." + key + ": expected a string");
    *out = it->get<std::string>();
    return std::nullopt;
  };
  auto list_field = [&](const char* key, std::vector<std::string>* out) -> std::optional<Error> {
    auto it = entry.find(key);
    if (it == entry.end()) return std::nullopt;
    if (!it->is_array()) return file_error(where + "." + key + ": expected a list of strings");
    for (const auto& v : *it) {
      if (!v.is_string()) return file_error(where + "." + key + ": expected a list of strings");
      out->push_back(v.get<std::string>());
    }
    return std::nullopt;
  };
  std::string token_hex;
  std::vector<std::string> scopes, operations;
  for (auto err : {string_field("name", &c.name), string_field("token_sha256", &token_hex),
                   string_field("operator", &c.job_operator), list_field("scopes", &scopes),
                   list_field("operations", &operations),
                   list_field("certificate_names", &c.certificate_names)}) {
    if (err) return *err;
  }
  if (c.name.empty()) return file_error(where + ".name: required");
  const std::string named = where + " (" + c.name + ")";
  if (auto it = entry.find("operator_override"); it != entry.end()) {
    if (!it->is_boolean()) return file_error(named + ".operator_override: expected true or false");
    c.operator_override = it->get<bool>();
  }
  if (!token_hex.empty()) {
    auto digest = parse_hex_digest(token_hex);
    if (!digest) return file_error(named + ".token_sha256: expected 64 hex digits");
    c.token_sha256 = *digest;
    c.has_token = true;
  }
  if (!c.has_token && c.certificate_names.empty()) {
    return file_error(named + ": needs token_sha256 or certificate_names to authenticate");
  }
  if (scopes.empty()) return file_error(named + ".scopes: required, at least one");
  for (const auto& s : scopes) {
    auto grant = parse_scope_grant(s);
    if (!grant) {
      return file_error(named + ".scopes: \"" + s +
                        "\" is not biz:<id>, biz_set:<id>, biz:*, biz_set:* or *");
    }
    c.scopes.push_back(*grant);
  }
  if (operations.empty()) return file_error(named + ".operations: required, at least one");
  for (const auto& o : operations) {
    auto op = parse_operation(o);
    if (!op) {
      return file_error(named + ".operations: \"" + o +
                        "\" is not execute, transfer, read, terminate or operate");
    }
    c.operations |= static_cast<std::uint8_t>(*op);
  }
  return c;
}

}  // namespace

const char* to_string(Operation op) {
  switch (op) {
    case Operation::kExecute:
      return "execute";
    case Operation::kTransfer:
      return "transfer";
    case Operation::kRead:
      return "read";
    case Operation::kTerminate:
      return "terminate";
    case Operation::kOperate:
      return "operate";
  }
  return "unknown";
}

std::optional<Operation> parse_operation(std::string_view name) {
  for (Operation op : kOperations) {
    if (name == to_string(op)) return op;
  }
  return std::nullopt;
}

bool ScopeGrant::matches(const Scope& scope) const {
  if (type == "*") return true;
  return type == scope.type && (id == "*" || id == scope.id);
}

std::string ScopeGrant::text() const { return type == "*" ? "*" : type + ":" + id; }

std::optional<std::string> refusal(const Caller& caller, const Scope& scope, Operation op) {
  if (!caller.may(op)) {
    return "caller " + caller.name + " may not " + to_string(op);
  }
  for (const auto& grant : caller.scopes) {
    if (grant.matches(scope)) return std::nullopt;
  }
  return "caller " + caller.name + " has no grant for scope " + scope.type + ":" + scope.id;
}

Result<std::string> effective_operator(const Caller& caller, std::string_view requested) {
  if (requested.empty() || requested == caller.job_operator) return caller.job_operator;
  if (!caller.operator_override) {
    return Error::invalid_argument("caller " + caller.name + " may not run as operator " +
                                   std::string(requested));
  }
  return std::string(requested);
}

std::string token_sha256_hex(std::string_view token) {
  static const char* kHex = "0123456789abcdef";
  const TokenDigest d = digest_of(token);
  std::string out;
  out.reserve(64);
  for (unsigned char b : d) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

Result<Credentials> Credentials::parse(std::string_view json_text) {
  json doc = json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (doc.is_discarded()) return file_error("credentials: not valid JSON");
  if (!doc.is_object()) return file_error("credentials: expected an object with \"callers\"");
  for (const auto& [key, value] : doc.items()) {
    if (key != "callers") return file_error("credentials: " + key + ": unknown field");
  }
  auto list = doc.find("callers");
  if (list == doc.end() || !list->is_array()) {
    return file_error("credentials: \"callers\" must be a list");
  }
  Credentials out;
  std::set<std::string> names;
  std::set<TokenDigest> digests;
  std::set<std::string> certificate_names;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string where = "callers[" + std::to_string(i) + "]";
    auto caller = parse_caller((*list)[i], where);
    if (!caller) return caller.error();
    Caller& c = caller.value();
    if (!names.insert(c.name).second) return file_error(where + ".name: " + c.name + " repeats");
    if (c.has_token && !digests.insert(c.token_sha256).second) {
      return file_error(where + " (" + c.name + ").token_sha256: another caller has this token");
    }
    for (const auto& cn : c.certificate_names) {
      if (!certificate_names.insert(cn).second) {
        return file_error(where + " (" + c.name + ").certificate_names: " + cn +
                          " belongs to another caller");
      }
    }
    out.callers_.push_back(std::move(c));
  }
  return out;
}

Result<Credentials> Credentials::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return file_error("credentials: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse(text.str());
  if (!parsed) {
    Error e = parsed.error();
    e.message = path + ": " + e.message;
    return e;
  }
  return parsed;
}

const Caller* Credentials::authenticate(std::string_view token) const {
  if (token.empty()) return nullptr;
  const TokenDigest presented = digest_of(token);
  const Caller* found = nullptr;
  for (const auto& c : callers_) {
    // No early exit: every entry costs the same, matched or not.
    const bool same = c.has_token &&
                      CRYPTO_memcmp(c.token_sha256.data(), presented.data(), presented.size()) == 0;
    if (same) found = &c;
  }
  return found;
}

const Caller* Credentials::by_certificate(std::string_view name) const {
  if (name.empty()) return nullptr;
  for (const auto& c : callers_) {
    for (const auto& cn : c.certificate_names) {
      if (cn == name) return &c;
    }
  }
  return nullptr;
}

}  // namespace jobgw::core
