#include "core/submit/request_fingerprint.h"

#include <openssl/evp.h>

#include <cstdint>

namespace jobgw::core {
namespace {

// name:length:bytes; — unambiguous for any content, including bytes that are not UTF-8.
class Canonical {
 public:
  explicit Canonical(const char* kind) { text("kind", kind); }

  void text(const char* name, const std::string& value) {
    out_ += name;
    out_ += ':';
    out_ += std::to_string(value.size());
    out_ += ':';
    out_ += value;
    out_ += ';';
  }
  void number(const char* name, std::int64_t value) { text(name, std::to_string(value)); }

  void scope(const Scope& s) {
    text("scope.type", s.type.empty() ? "biz" : s.type);
    text("scope.id", s.id);
  }

  void targets(const char* name, const Targets& t) {
    const std::string prefix = name;
    number((prefix + ".host_ids").c_str(), static_cast<std::int64_t>(t.host_ids.size()));
    for (std::int64_t id : t.host_ids) number("host_id", id);
    number((prefix + ".hosts").c_str(), static_cast<std::int64_t>(t.hosts.size()));
    for (const Host& h : t.hosts) {
      number("host.host_id", h.host_id);
      number("host.cloud_id", h.cloud_id);
      text("host.ip", h.ip);
    }
    number((prefix + ".dynamic_groups").c_str(),
           static_cast<std::int64_t>(t.dynamic_group_ids.size()));
    for (const std::string& g : t.dynamic_group_ids) text("dynamic_group", g);
    number((prefix + ".topo_nodes").c_str(), static_cast<std::int64_t>(t.topo_nodes.size()));
    for (const TopoNode& n : t.topo_nodes) {
      number("topo.id", n.id);
      text("topo.type", n.node_type);
    }
  }

  std::string sha256_hex() const {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(out_.data(), out_.size(), digest, &length, EVP_sha256(), nullptr);
    static const char kHex[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
      hex += kHex[digest[i] >> 4];
      hex += kHex[digest[i] & 0x0f];
    }
    return hex;
  }

 private:
  std::string out_;
};

}  // namespace

std::string fingerprint(const ExecuteScriptRequest& r) {
  Canonical c("execute_script");
  c.scope(r.scope);
  c.text("script_content", r.script_content);
  c.number("script_language", r.script_language);
  c.text("script_param", r.script_param);
  c.number("param_sensitive", r.param_sensitive ? 1 : 0);
  c.number("timeout_seconds", r.timeout_seconds);
  c.text("account_alias", r.account_alias);
  c.number("account_id", r.account_id);
  c.targets("targets", r.targets);
  c.text("task_name", r.task_name);
  c.text("operator", r.operator_name);
  c.text("script_id", r.script_id);
  c.number("script_version_id", r.script_version_id);
  return c.sha256_hex();
}

std::string fingerprint(const TransferFileRequest& r) {
  Canonical c("transfer_file");
  c.scope(r.scope);
  c.number("sources", static_cast<std::int64_t>(r.sources.size()));
  for (const FileSource& s : r.sources) {
    c.number("source.files", static_cast<std::int64_t>(s.files.size()));
    for (const std::string& f : s.files) c.text("source.file", f);
    c.targets("source.servers", s.servers);
    c.text("source.account_alias", s.account_alias);
    c.number("source.account_id", s.account_id);
  }
  c.text("target_path", r.target_path);
  c.targets("targets", r.targets);
  c.text("account_alias", r.account_alias);
  c.number("account_id", r.account_id);
  c.number("timeout_seconds", r.timeout_seconds);
  c.number("upload_limit_mb", r.upload_limit_mb);
  c.number("download_limit_mb", r.download_limit_mb);
  c.number("transfer_mode", r.transfer_mode);
  c.text("task_name", r.task_name);
  c.text("operator", r.operator_name);
  return c.sha256_hex();
}

std::string fingerprint(const ExecutePlanRequest& r) {
  Canonical c("execute_job_plan");
  c.scope(r.scope);
  c.number("job_plan_id", r.job_plan_id);
  c.number("variables", static_cast<std::int64_t>(r.variables.size()));
  for (const PlanVariableValue& v : r.variables) {
    c.number("variable.id", v.id);
    c.text("variable.name", v.name);
    c.number("variable.has_value", v.value ? 1 : 0);
    if (v.value) c.text("variable.value", *v.value);
    c.number("variable.has_server", v.server ? 1 : 0);
    if (v.server) c.targets("variable.server", *v.server);
  }
  c.number("start_task", r.start_task ? 1 : 0);
  c.text("operator", r.operator_name);
  return c.sha256_hex();
}

}  // namespace jobgw::core
