#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/base/targets.h"

namespace jobgw::core {

// What a caller may do; the gateway's RPCs map onto these.
enum class Operation : std::uint8_t {
  kExecute = 1 << 0,    // ExecuteScript, ExecuteJobPlan
  kTransfer = 1 << 1,   // TransferFile
  kRead = 1 << 2,       // GetJobStatus, WatchStatus, GetIpLogs, the plan and output reads
  kTerminate = 1 << 3,  // TerminateJob
  kOperate = 1 << 4,    // OperateStep: confirm, retry, skip a step of a running job
};

const char* to_string(Operation op);
std::optional<Operation> parse_operation(std::string_view name);

// One scope a caller is granted: "biz:1", "biz:*", "biz_set:7", or "*" (every scope).
struct ScopeGrant {
  std::string type;  // "biz", "biz_set" or "*"
  std::string id;    // an id or "*"

  bool matches(const Scope& scope) const;
  std::string text() const;
};

using TokenDigest = std::array<unsigned char, 32>;  // SHA-256

// One entry of the credentials file.
struct Caller {
  std::string name;
  TokenDigest token_sha256{};
  bool has_token = false;
  std::vector<ScopeGrant> scopes;
  std::uint8_t operations = 0;  // bit set of Operation
  // The JOB operator (bk_username) this caller's calls run as; empty: jobgw's default.
  std::string job_operator;
  // Whether a request may name another operator.
  bool operator_override = false;
  // Client-certificate identities (subject CN or a SAN) that authenticate as this caller.
  std::vector<std::string> certificate_names;

  bool may(Operation op) const { return (operations & static_cast<std::uint8_t>(op)) != 0; }
};

// Why a call is refused; empty when allowed. The reason names the caller and what was refused,
// never a token.
std::optional<std::string> refusal(const Caller& caller, const Scope& scope, Operation op);

// The operator a call runs as: the caller's own, or `requested` when the entry allows override.
// A refusal names the operator that was asked for.
Result<std::string> effective_operator(const Caller& caller, std::string_view requested);

// SHA-256 of a token, lowercase hex: what the credentials file stores (`jobctl token hash`).
std::string token_sha256_hex(std::string_view token);

// The callers jobgw knows (the credentials file, README "Security": tokens only as hashes).
class Credentials {
 public:
  // The file's JSON:
  //   {"callers": [{"name": "logcheck", "token_sha256": "<64 hex>", "scopes": ["biz:1"],
  //                 "operations": ["execute", "read"], "operator": "svc-logcheck",
  //                 "operator_override": false, "certificate_names": ["logcheck.svc"]}]}
  // Anything unknown or malformed is an error naming the entry and field: a typo in access
  // rules must not silently widen or narrow them.
  static Result<Credentials> parse(std::string_view json_text);
  static Result<Credentials> load(const std::string& path);

  // The caller whose token this is, or nullptr. Every entry's digest is compared in constant
  // time, whichever matches, so timing reveals neither the token nor which entry it belongs to.
  const Caller* authenticate(std::string_view token) const;
  // The caller a verified client certificate names, or nullptr.
  const Caller* by_certificate(std::string_view name) const;

  const std::vector<Caller>& callers() const { return callers_; }

 private:
  std::vector<Caller> callers_;
};

}  // namespace jobgw::core
