#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/base/result.h"

namespace spdlog {
class logger;
}

namespace jobgw::core {

// One mutating call (ExecuteScript, TransferFile, TerminateJob), allowed or refused. Holds no
// script content, no parameters and no token: only what an auditor needs to ask "who ran what
// where, and did it happen".
struct AuditRecord {
  std::int64_t wall_ms = 0;  // Unix milliseconds
  std::string caller;        // the credentials entry, "anonymous" (insecure-dev) or
                             // "unauthenticated"
  std::string job_operator;  // bk_username the call ran (or would have run) as; empty: default
  std::string scope;         // "biz:1"
  std::string rpc;           // "ExecuteScript"
  std::size_t target_count = 0;
  std::string script_sha256;  // of script_content; empty when the call named none
  std::string request_id;
  std::int64_t job_instance_id = 0;
  // What else names the act, for calls whose job and targets do not: "job_plan_id=7",
  // "step_instance_id=20002 operation=CONFIRM". Written only when set.
  std::string detail;
  std::string code;    // gRPC status name, e.g. "OK", "PERMISSION_DENIED"
  std::string reason;  // short: why it was refused or failed; empty when OK
};

// The record as one JSON object on one line, keys in a fixed order.
std::string audit_line(const AuditRecord& record);

// Lowercase hex SHA-256 of `data`: the script digest of an audit record.
std::string sha256_hex(std::string_view data);

// Where audit lines go: their own file (audit.path), one JSON object per line, or, when the
// path is empty or "-", the main log stream as "event=audit {json}". Thread-safe.
class AuditLog {
 public:
  // Fails (naming the path) when the file cannot be opened for appending.
  static Result<std::unique_ptr<AuditLog>> open(const std::string& path);
  ~AuditLog();

  void write(const AuditRecord& record);
  // "<main log>" or the file's path, for the startup line.
  const std::string& where() const { return where_; }

 private:
  AuditLog(std::shared_ptr<spdlog::logger> file, std::string where);

  std::shared_ptr<spdlog::logger> file_;  // null: the main log
  std::string where_;
};

}  // namespace jobgw::core
