#include "core/security/audit_log.h"

#include <openssl/sha.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

namespace jobgw::core {

namespace {

// 2026-11-24T22:40:00.123Z
std::string iso_utc(std::int64_t wall_ms) {
  const std::time_t seconds = static_cast<std::time_t>(wall_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%.*s.%03dZ", static_cast<int>(n), text,
                static_cast<int>(wall_ms % 1000));
  return out;
}

}  // namespace

std::string audit_line(const AuditRecord& r) {
  // ordered_json keeps the documented key order, so lines read the same from call to call.
  nlohmann::ordered_json j;
  j["time"] = iso_utc(r.wall_ms);
  j["caller"] = r.caller;
  j["operator"] = r.job_operator;
  j["scope"] = r.scope;
  j["rpc"] = r.rpc;
  j["target_count"] = r.target_count;
  j["script_sha256"] = r.script_sha256;
  j["request_id"] = r.request_id;
  j["job_instance_id"] = r.job_instance_id;
  if (!r.detail.empty()) j["detail"] = r.detail;
  j["outcome"] = r.code;
  j["reason"] = r.reason;
  // Replace rather than throw on bytes that are not UTF-8 (a caller's request_id or a JOB
  // message): an audit line must always be written.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string sha256_hex(std::string_view data) {
  static const char* kHex = "0123456789abcdef";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  std::string out;
  out.reserve(2 * SHA256_DIGEST_LENGTH);
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path) {
  if (path.empty() || path == "-") {
    return std::unique_ptr<AuditLog>(new AuditLog(nullptr, "<main log>"));
  }
  // Distinct names: spdlog's registry refuses a second logger of the same name.
  static std::atomic<int> serial{0};
  std::shared_ptr<spdlog::logger> logger;
  try {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
    logger = std::make_shared<spdlog::logger>("audit-" + std::to_string(++serial), sink);
  } catch (const spdlog::spdlog_ex& e) {
    return Error::invalid_argument("audit.path: cannot open " + path +
                                   " for appending: " + e.what());
  }
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::info);
  // Each line reaches the file when written: an audit trail must survive a crash.
  logger->flush_on(spdlog::level::info);
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(logger), path));
}

AuditLog::AuditLog(std::shared_ptr<spdlog::logger> file, std::string where)
    : file_(std::move(file)), where_(std::move(where)) {}

AuditLog::~AuditLog() {
  if (file_) file_->flush();
}

void AuditLog::write(const AuditRecord& record) {
  const std::string line = audit_line(record);
  if (file_) {
    file_->info("{}", line);
  } else {
    spdlog::info("event=audit {}", line);
  }
}

}  // namespace jobgw::core
