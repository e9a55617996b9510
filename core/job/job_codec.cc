#include "core/job/job_codec.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "core/job/base64.h"
#include "core/job/json_document.h"
#include "core/job/json_fields.h"

namespace jobgw::core {
namespace {

using nlohmann::json;
using Query = std::vector<std::pair<std::string, std::string>>;

std::string url_encode(std::string_view in) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
    }
  }
  return out;
}

void put_scope(json& body, const Scope& scope) {
  body["bk_scope_type"] = scope.type.empty() ? "biz" : scope.type;
  body["bk_scope_id"] = scope.id;
}

void put_scope(Query& query, const Scope& scope) {
  query.emplace_back("bk_scope_type", scope.type.empty() ? "biz" : scope.type);
  query.emplace_back("bk_scope_id", scope.id);
}

json host_ref(const Host& host) { return json{{"bk_cloud_id", host.cloud_id}, {"ip", host.ip}}; }

// JOB ignores ip_list whenever host_id_list is present, so a mix of the two would silently
// drop the ip-only hosts; that and IPv6-without-id are refused here, naming the host.
Result<json> encode_hosts(const std::vector<std::int64_t>& host_ids, const std::vector<Host>& hosts,
                          const std::string& field) {
  json ids = json::array();
  json ips = json::array();
  for (std::size_t i = 0; i < host_ids.size(); ++i) ids.push_back(host_ids[i]);
  std::string first_ip_only;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    const Host& h = hosts[i];
    const std::string where = field + ".hosts[" + std::to_string(i) + "]";
    if (h.host_id != 0) {
      ids.push_back(h.host_id);
      continue;
    }
    switch (ip_family(h.ip)) {
      case IpFamily::kInvalid:
        return Error::invalid_argument(where + ": '" + h.ip + "' is not an IPv4 or IPv6 address");
      case IpFamily::kV6:
        return Error::invalid_argument(where + ": IPv6 host " + h.ip +
                                       " needs a host_id (JOB addresses IPv6 hosts by id only)");
      case IpFamily::kV4:
        if (first_ip_only.empty()) first_ip_only = where + " (" + describe(h) + ")";
        ips.push_back(host_ref(h));
        break;
    }
  }
  if (!ids.empty() && !ips.empty()) {
    return Error::invalid_argument(
        first_ip_only +
        " has no host_id while other hosts are given by id; JOB ignores ip_list when "
        "host_id_list is present, so give every host by id or every host by ip");
  }
  json out = json::object();
  if (!ids.empty()) out["host_id_list"] = std::move(ids);
  if (!ips.empty()) out["ip_list"] = std::move(ips);
  return out;
}

Result<json> encode_targets(const Targets& targets, const std::string& field) {
  Result<json> hosts = encode_hosts(targets.host_ids, targets.hosts, field);
  if (!hosts) return hosts;
  json out = std::move(hosts.value());
  if (!targets.dynamic_group_ids.empty()) {
    json groups = json::array();
    for (const auto& id : targets.dynamic_group_ids) groups.push_back({{"id", id}});
    out["dynamic_group_list"] = std::move(groups);
  }
  if (!targets.topo_nodes.empty()) {
    json nodes = json::array();
    for (const auto& n : targets.topo_nodes) {
      nodes.push_back({{"id", n.id}, {"node_type", n.node_type}});
    }
    out["topo_node_list"] = std::move(nodes);
  }
  return out;
}

void put_account(json& body, std::int64_t account_id, const std::string& alias,
                 const std::string& default_alias) {
  if (account_id > 0) {
    body["account_id"] = account_id;
  } else {
    body["account_alias"] = alias.empty() ? default_alias : alias;
  }
}

std::string snippet(std::string_view body) {
  std::string out;
  bool space = false;
  for (char c : body) {
    if (out.size() >= 160) {
      out += "...";
      break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isspace(u) || u < 0x20) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

Error decode_error(std::string message, const std::string& request_id = {}) {
  Error e;
  e.kind = ErrorKind::kDecode;
  e.message = std::move(message);
  e.request_id = request_id;
  e.http_status = 200;
  return e;
}

// Fills an HTTP error with what JOB's API gateway said, when it said it in JSON.
Error http_error(int http_status, std::string_view body, const JsonDocument* json_body) {
  Error e;
  e.kind = ErrorKind::kHttp;
  e.http_status = http_status;
  e.message = "JOB answered HTTP " + std::to_string(http_status);
  if (json_body != nullptr) {
    std::optional<Error> ignored;
    JsonFields f(json_body->root(), JsonPath(), &ignored);
    std::string message = f.str("message");
    e.job_code = f.i64("code");
    e.request_id = f.str("request_id");
    if (!message.empty()) e.message += ": " + message;
  } else if (!body.empty()) {
    e.message += ": " + snippet(body);
  }
  return e;
}

// Parses body into doc and checks JOB's envelope around `data`; JOB's request_id when it reports
// success. A body that fails to parse still yields a useful message: the gateway must never
// assume JOB's API gateway answered JSON (it sends HTML on 502/504).
Result<std::string> parse_envelope(int http_status, std::string_view body, JsonDocument& doc) {
  const bool parsed = doc.parse(body) == simdjson::SUCCESS;
  const bool is_object = parsed && doc.root().is_object();
  if (http_status != 200) return http_error(http_status, body, is_object ? &doc : nullptr);
  if (!parsed) {
    return decode_error("JOB answered a body that is not JSON: " + snippet(body));
  }
  if (!is_object) {
    return decode_error(std::string("JOB answered JSON that is not an object but ") +
                        json_type_name(doc.root()));
  }
  std::optional<Error> err;
  JsonFields f(doc.root(), JsonPath(), &err);
  std::string request_id = f.str("request_id");
  std::int64_t code = f.i64("code");
  std::string message = f.str("message");
  bool has_result = f.value("result").has_value();
  bool result = f.boolean("result", code == 0);
  if (err) {
    err->request_id = request_id;
    err->http_status = 200;
    return *err;
  }
  if (!has_result && !f.has("code")) {
    return decode_error("JOB's answer has neither `result` nor `code`", request_id);
  }
  if (!result) {
    Error e;
    e.kind = ErrorKind::kJob;
    e.job_code = code;
    e.message = message.empty() ? "JOB reported failure code " + std::to_string(code) : message;
    e.request_id = request_id;
    e.http_status = 200;
    return e;
  }
  return request_id;
}

// The envelope's `data`, null when missing.
std::optional<simdjson::dom::element> data_of(const JsonDocument& doc) {
  std::optional<Error> ignored;
  JsonFields top(doc.root(), JsonPath(), &ignored);
  return top.value("data");
}

Result<simdjson::dom::element> data_object(const JsonDocument& doc, const std::string& request_id) {
  std::optional<simdjson::dom::element> data = data_of(doc);
  if (!data) return decode_error("data: missing", request_id);
  if (!data->is_object()) {
    return decode_error(std::string("data: expected object, got ") + json_type_name(*data),
                        request_id);
  }
  return *data;
}

template <typename T>
Result<T> finish(T value, std::optional<Error>& err, const std::string& request_id) {
  if (err) {
    err->request_id = request_id;
    err->http_status = 200;
    return *err;
  }
  return value;
}

// The steps every decoder shares: the envelope, its `data` object, then `read` over the data's
// fields; the first field error becomes the result, with JOB's request_id attached.
template <typename T, typename Read>
Result<T> decode_data(int http_status, std::string_view body, Read read) {
  JsonDocument doc;
  Result<std::string> request_id = parse_envelope(http_status, body, doc);
  if (!request_id) return request_id.error();
  Result<simdjson::dom::element> data = data_object(doc, *request_id);
  if (!data) return data.error();
  const JsonPath root;
  std::optional<Error> err;
  JsonFields d(*data, root.field("data"), &err);
  T value = read(d, err);
  return finish(std::move(value), err, *request_id);
}

Host decode_host(JsonFields& f) {
  Host h;
  h.host_id = f.i64("bk_host_id");
  h.cloud_id = f.i64("bk_cloud_id");
  h.ip = f.str("ip");
  return h;
}

Host decode_host_object(JsonFields& owner, const char* key, std::optional<Error>* err) {
  std::optional<simdjson::dom::object> obj = owner.object(key);
  if (!obj) return {};
  JsonFields f(*obj, owner.path().field(key), err);
  return decode_host(f);
}

// owner's array `key` of file transfer entries.
std::vector<FileLog> decode_file_logs(JsonFields& owner, const char* key,
                                      std::optional<Error>* err) {
  std::vector<FileLog> out;
  std::optional<simdjson::dom::array> list = owner.array(key);
  if (!list) return out;
  std::size_t i = 0;
  for (simdjson::dom::element entry : *list) {
    JsonFields f(entry, owner.path().element(key, i++), err);
    FileLog l;
    l.mode = f.i32("mode");
    l.src = decode_host_object(f, "src_ip", err);
    l.src_path = f.str("src_path");
    l.dest = decode_host_object(f, "dest_ip", err);
    l.dest_path = f.str("dest_path");
    l.status = f.i32("status");
    l.content = f.str("log_content");
    l.size = f.str("size");
    l.speed = f.str("speed");
    l.progress = f.str("process");
    out.push_back(std::move(l));
  }
  return out;
}

void decode_job_instance(JsonFields& j, JobSnapshot& snap) {
  snap.job_instance_id = j.i64("job_instance_id");
  snap.scope.type = j.str("bk_scope_type", "biz");
  snap.scope.id = j.id_string("bk_scope_id");
  if (snap.scope.id.empty()) snap.scope.id = j.id_string("bk_biz_id");
  snap.name = j.str("name");
  snap.status = j.i32("status");
  snap.create_time_ms = j.i64("create_time");
  snap.start_time_ms = j.i64("start_time");
  snap.end_time_ms = j.i64("end_time");
  snap.total_time_ms = j.i64("total_time");
}

HostResult decode_host_result(simdjson::dom::element value, const JsonPath& at,
                              std::optional<Error>& err) {
  JsonFields h(value, at, &err);
  HostResult hr;
  hr.host = decode_host(h);
  hr.status = h.i32("status");
  hr.tag = h.str("tag");
  hr.exit_code = h.i32("exit_code");
  hr.error_code = h.i32("error_code");
  hr.start_time_ms = h.i64("start_time");
  hr.end_time_ms = h.i64("end_time");
  hr.total_time_ms = h.i64("total_time");
  return hr;
}

StepSnapshot decode_step(simdjson::dom::element value, const JsonPath& at,
                         std::optional<Error>& err) {
  JsonFields s(value, at, &err);
  if (!value.is_object() && !err) {
    err = decode_error(at.str() + ": expected object, got " + json_type_name(value));
  }
  StepSnapshot step;
  step.step_instance_id = s.i64("step_instance_id");
  step.type = s.i32("type");
  step.name = s.str("name");
  step.status = s.i32("status");
  step.execute_count = s.i32("execute_count");
  step.create_time_ms = s.i64("create_time");
  step.start_time_ms = s.i64("start_time");
  step.end_time_ms = s.i64("end_time");
  step.total_time_ms = s.i64("total_time");
  if (std::optional<simdjson::dom::array> hosts = s.array("step_ip_result_list")) {
    step.hosts.reserve(hosts->size());
    std::size_t k = 0;
    for (simdjson::dom::element host : *hosts) {
      step.hosts.push_back(decode_host_result(host, at.element("step_ip_result_list", k++), err));
    }
  }
  return step;
}

}  // namespace

Result<ApiMode> parse_api_mode(std::string_view text) {
  if (text == "apigw") return ApiMode::kApigw;
  if (text == "esb") return ApiMode::kEsb;
  return Error::invalid_argument("api_mode: '" + std::string(text) + "' is not one of apigw, esb");
}

std::string_view api_mode_name(ApiMode mode) { return mode == ApiMode::kEsb ? "esb" : "apigw"; }

JobCodec::JobCodec(JobApiSettings settings)
    : settings_(std::move(settings)),
      apigw_auth_prefix_(
          "{\"bk_app_code\":" +
          json(settings_.app_code).dump(-1, ' ', false, json::error_handler_t::replace) +
          ",\"bk_app_secret\":" +
          json(settings_.app_secret).dump(-1, ' ', false, json::error_handler_t::replace) +
          ",\"bk_username\":") {}

std::string JobCodec::path(const char* name) const {
  if (settings_.mode == ApiMode::kApigw) {
    return std::string("/api/v3/") + name + "/";
  }
  return std::string("/api/c/compapi/v2/jobv3/") + name + "/";
}

std::string JobCodec::operator_of(const std::string& requested) const {
  return requested.empty() ? settings_.default_operator : requested;
}

namespace {

// The apigw credentials header, {"bk_app_code":..,"bk_app_secret":..,"bk_username":..}: the
// app's part escaped once (JobCodec's constructor), only the operator per call.
std::string apigw_authorization(const std::string& auth_prefix, const std::string& username) {
  std::string out = auth_prefix;
  // Invalid UTF-8 is replaced rather than thrown on.
  out += json(username).dump(-1, ' ', false, json::error_handler_t::replace);
  out += '}';
  return out;
}

EncodedCall make_post(const JobApiSettings& s, const std::string& auth_prefix, std::string label,
                      std::string target, json body, const std::string& username) {
  EncodedCall call;
  call.label = std::move(label);
  call.method = "POST";
  call.target = std::move(target);
  if (s.mode == ApiMode::kApigw) {
    call.headers.emplace_back("X-Bkapi-Authorization", apigw_authorization(auth_prefix, username));
  } else {
    body["bk_app_code"] = s.app_code;
    body["bk_app_secret"] = s.app_secret;
    body["bk_username"] = username;
  }
  call.body = body.dump();
  return call;
}

EncodedCall make_get(const JobApiSettings& s, const std::string& auth_prefix, std::string label,
                     std::string path, Query query, const std::string& username) {
  EncodedCall call;
  call.label = std::move(label);
  call.method = "GET";
  if (s.mode == ApiMode::kApigw) {
    call.headers.emplace_back("X-Bkapi-Authorization", apigw_authorization(auth_prefix, username));
  } else {
    query.emplace_back("bk_app_code", s.app_code);
    query.emplace_back("bk_app_secret", s.app_secret);
    query.emplace_back("bk_username", username);
  }
  std::string target = std::move(path);
  char sep = '?';
  for (const auto& [k, v] : query) {
    target += sep;
    target += url_encode(k);
    target += '=';
    target += url_encode(v);
    sep = '&';
  }
  call.target = std::move(target);
  return call;
}

}  // namespace

Result<EncodedCall> JobCodec::execute_script(const ExecuteScriptRequest& r) const {
  json body = json::object();
  put_scope(body, r.scope);
  if (r.script_version_id > 0) {
    body["script_version_id"] = r.script_version_id;
  } else if (!r.script_id.empty()) {
    body["script_id"] = r.script_id;
  } else {
    body["script_content"] = base64_encode(r.script_content);
    body["script_language"] = r.script_language;
  }
  if (!r.script_param.empty()) body["script_param"] = base64_encode(r.script_param);
  body["is_param_sensitive"] = r.param_sensitive ? 1 : 0;
  if (r.timeout_seconds > 0) body["timeout"] = r.timeout_seconds;
  put_account(body, r.account_id, r.account_alias, settings_.default_account_alias);
  if (!r.task_name.empty()) body["task_name"] = r.task_name;
  Result<json> targets = encode_targets(r.targets, "targets");
  if (!targets) return targets.error();
  body["target_server"] = std::move(targets.value());
  if (!r.callback_url.empty()) body["callback_url"] = r.callback_url;
  return make_post(settings_, apigw_auth_prefix_, "fast_execute_script",
                   path("fast_execute_script"), std::move(body), operator_of(r.operator_name));
}

Result<EncodedCall> JobCodec::transfer_file(const TransferFileRequest& r) const {
  json body = json::object();
  put_scope(body, r.scope);
  body["file_target_path"] = r.target_path;
  json sources = json::array();
  for (std::size_t i = 0; i < r.sources.size(); ++i) {
    const FileSource& src = r.sources[i];
    json entry = json::object();
    entry["file_list"] = src.files;
    Result<json> server = encode_targets(src.servers, "sources[" + std::to_string(i) + "].servers");
    if (!server) return server.error();
    entry["server"] = std::move(server.value());
    if (src.account_id > 0) {
      entry["account"] = {{"id", src.account_id}};
    } else {
      entry["account"] = {{"alias", src.account_alias.empty() ? settings_.default_account_alias
                                                              : src.account_alias}};
    }
    entry["file_type"] = 1;
    sources.push_back(std::move(entry));
  }
  body["file_source_list"] = std::move(sources);
  Result<json> targets = encode_targets(r.targets, "targets");
  if (!targets) return targets.error();
  body["target_server"] = std::move(targets.value());
  put_account(body, r.account_id, r.account_alias, settings_.default_account_alias);
  if (r.timeout_seconds > 0) body["timeout"] = r.timeout_seconds;
  if (r.download_limit_mb > 0) body["download_speed_limit"] = r.download_limit_mb;
  if (r.upload_limit_mb > 0) body["upload_speed_limit"] = r.upload_limit_mb;
  if (r.transfer_mode != kTransferModeDefault) body["transfer_mode"] = r.transfer_mode;
  if (!r.task_name.empty()) body["task_name"] = r.task_name;
  if (!r.callback_url.empty()) body["callback_url"] = r.callback_url;
  return make_post(settings_, apigw_auth_prefix_, "fast_transfer_file", path("fast_transfer_file"),
                   std::move(body), operator_of(r.operator_name));
}

EncodedCall JobCodec::get_job_instance_status(const JobStatusRequest& r) const {
  Query q;
  put_scope(q, r.scope);
  q.emplace_back("job_instance_id", std::to_string(r.job_instance_id));
  q.emplace_back("return_ip_result", r.return_ip_result ? "true" : "false");
  return make_get(settings_, apigw_auth_prefix_, "get_job_instance_status",
                  path("get_job_instance_status"), std::move(q), operator_of(r.operator_name));
}

EncodedCall JobCodec::probe() const {
  return make_get(settings_, apigw_auth_prefix_, "probe", path("get_job_instance_status"), Query{},
                  settings_.default_operator);
}

Result<int> JobCodec::decode_probe(int http_status, std::string_view) {
  if (http_status > 0 && http_status < 500) return http_status;
  Error e;
  e.kind = ErrorKind::kHttp;
  e.http_status = http_status;
  e.message = "JOB answered the probe with HTTP " + std::to_string(http_status);
  return e;
}

Result<EncodedCall> JobCodec::batch_get_job_instance_ip_log(const IpLogsRequest& r) const {
  json body = json::object();
  put_scope(body, r.scope);
  body["job_instance_id"] = r.job_instance_id;
  body["step_instance_id"] = r.step_instance_id;
  Result<json> hosts = encode_hosts(r.host_ids, r.hosts, "hosts");
  if (!hosts) return hosts.error();
  for (auto& [k, v] : hosts->items()) body[k] = v;
  return make_post(settings_, apigw_auth_prefix_, "batch_get_job_instance_ip_log",
                   path("batch_get_job_instance_ip_log"), std::move(body),
                   operator_of(r.operator_name));
}

Result<EncodedCall> JobCodec::get_job_instance_ip_log(const IpLogsRequest& r) const {
  if (r.host_ids.size() + r.hosts.size() != 1) {
    return Error::invalid_argument("hosts: get_job_instance_ip_log takes exactly one host, got " +
                                   std::to_string(r.host_ids.size() + r.hosts.size()));
  }
  Query q;
  put_scope(q, r.scope);
  q.emplace_back("job_instance_id", std::to_string(r.job_instance_id));
  q.emplace_back("step_instance_id", std::to_string(r.step_instance_id));
  Host h = r.hosts.empty() ? Host{r.host_ids[0], 0, ""} : r.hosts[0];
  if (h.host_id != 0) {
    q.emplace_back("bk_host_id", std::to_string(h.host_id));
  } else {
    IpFamily family = ip_family(h.ip);
    if (family == IpFamily::kInvalid) {
      return Error::invalid_argument("hosts[0]: '" + h.ip + "' is not an IPv4 or IPv6 address");
    }
    if (family == IpFamily::kV6) {
      return Error::invalid_argument("hosts[0]: IPv6 host " + h.ip + " needs a host_id");
    }
    q.emplace_back("bk_cloud_id", std::to_string(h.cloud_id));
    q.emplace_back("ip", h.ip);
  }
  return make_get(settings_, apigw_auth_prefix_, "get_job_instance_ip_log",
                  path("get_job_instance_ip_log"), std::move(q), operator_of(r.operator_name));
}

EncodedCall JobCodec::operate_job_instance(const OperateJobRequest& r) const {
  json body = json::object();
  put_scope(body, r.scope);
  body["job_instance_id"] = r.job_instance_id;
  body["operation_code"] = r.operation_code;
  return make_post(settings_, apigw_auth_prefix_, "operate_job_instance",
                   path("operate_job_instance"), std::move(body), operator_of(r.operator_name));
}

Result<JobRef> JobCodec::decode_job_ref(int http_status, std::string_view body) {
  return decode_data<JobRef>(http_status, body, [](JsonFields& f, std::optional<Error>& err) {
    JobRef ref;
    ref.job_instance_id = f.i64("job_instance_id");
    ref.job_instance_name = f.str("job_instance_name");
    ref.step_instance_id = f.i64("step_instance_id");
    if (!err && ref.job_instance_id <= 0) {
      err = decode_error("data.job_instance_id: missing or not positive");
    }
    return ref;
  });
}

Result<JobSnapshot> JobCodec::decode_job_status(int http_status, std::string_view body) {
  return decode_data<JobSnapshot>(http_status, body, [](JsonFields& d, std::optional<Error>& err) {
    JobSnapshot snap;
    snap.finished = d.boolean("finished");
    if (std::optional<simdjson::dom::object> job = d.object("job_instance")) {
      JsonFields j(*job, d.path().field("job_instance"), &err);
      decode_job_instance(j, snap);
    } else if (!err) {
      err = decode_error("data.job_instance: missing");
    }
    if (std::optional<simdjson::dom::array> steps = d.array("step_instance_list")) {
      std::size_t i = 0;
      for (simdjson::dom::element step : *steps) {
        snap.steps.push_back(decode_step(step, d.path().element("step_instance_list", i++), err));
      }
    }
    return snap;
  });
}

namespace {

IpLogs decode_logs_header(JsonFields& d) {
  IpLogs logs;
  logs.log_type = d.i32("log_type");
  logs.job_instance_id = d.i64("job_instance_id");
  logs.step_instance_id = d.i64("step_instance_id");
  return logs;
}

}  // namespace

Result<IpLogs> JobCodec::decode_batch_ip_log(int http_status, std::string_view body) {
  return decode_data<IpLogs>(http_status, body, [](JsonFields& d, std::optional<Error>& err) {
    IpLogs logs = decode_logs_header(d);
    if (std::optional<simdjson::dom::array> list = d.array("script_task_logs")) {
      std::size_t i = 0;
      for (simdjson::dom::element entry : *list) {
        JsonFields h(entry, d.path().element("script_task_logs", i++), &err);
        ScriptLog log;
        log.host = decode_host(h);
        log.content = h.str("log_content");
        logs.script_logs.push_back(std::move(log));
      }
    }
    if (std::optional<simdjson::dom::array> list = d.array("file_task_logs")) {
      std::size_t i = 0;
      for (simdjson::dom::element entry : *list) {
        JsonFields h(entry, d.path().element("file_task_logs", i++), &err);
        FileHostLog host_log;
        host_log.host = decode_host(h);
        host_log.entries = decode_file_logs(h, "file_logs", &err);
        logs.file_logs.push_back(std::move(host_log));
      }
    }
    return logs;
  });
}

Result<IpLogs> JobCodec::decode_ip_log(int http_status, std::string_view body) {
  return decode_data<IpLogs>(http_status, body, [](JsonFields& d, std::optional<Error>& err) {
    IpLogs logs = decode_logs_header(d);
    Host host = decode_host(d);
    if (logs.log_type == kLogFile || d.array("file_logs").has_value()) {
      FileHostLog host_log;
      host_log.host = host;
      host_log.entries = decode_file_logs(d, "file_logs", &err);
      logs.file_logs.push_back(std::move(host_log));
    } else {
      logs.script_logs.push_back(ScriptLog{host, d.str("log_content")});
    }
    return logs;
  });
}

Result<std::int64_t> JobCodec::decode_operate(int http_status, std::string_view body) {
  JsonDocument doc;
  Result<std::string> request_id = parse_envelope(http_status, body, doc);
  if (!request_id) {
    Error error = request_id.error();
    // operate_job_instance answers "illegal parameter with reason" when the job has already
    // finished: the request is well formed, the job's state refuses it. Callers that terminate
    // as a job ends must be able to tell that from a malformed request.
    if (error.kind == ErrorKind::kJob && error.job_code == kJobCodeIllegalParamReason) {
      error.kind = ErrorKind::kFailedPrecondition;
    }
    return error;
  }
  std::optional<Error> err;
  std::int64_t id = 0;
  if (std::optional<simdjson::dom::element> data = data_of(doc)) {
    if (data->is_object()) {
      const JsonPath root;
      JsonFields d(*data, root.field("data"), &err);
      id = d.i64("job_instance_id");
    } else {
      err = decode_error(std::string("data: expected object, got ") + json_type_name(*data));
    }
  }
  return finish(id, err, *request_id);
}

// ---- job plans ----------------------------------------------------------------------------

namespace {

void put_if(Query& q, const char* key, const std::string& value) {
  if (!value.empty()) q.emplace_back(key, value);
}

void put_if_positive(Query& q, const char* key, std::int64_t value) {
  if (value > 0) q.emplace_back(key, std::to_string(value));
}

// Standard Base64 as JOB's Java encoder writes it; padding optional, whitespace skipped (a
// wrapped encoding is still the same text). nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3);
  std::uint32_t acc = 0;
  int bits = 0;
  bool padded = false;
  for (char c : in) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else if (c == '=') {
      padded = true;
      continue;
    } else if (c == '\n' || c == '\r' || c == ' ' || c == '\t') {
      continue;
    }
    if (v < 0 || padded) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // A lone trailing sextet cannot end a Base64 text.
  if (bits >= 6) return std::nullopt;
  return out;
}

void set_error(std::optional<Error>& err, std::string message) {
  if (!err) err = decode_error(std::move(message));
}

// JOB writes its flags as 0/1 in some answers and as booleans in others.
bool flag(JsonFields& f, const char* key, std::optional<Error>& err) {
  std::optional<simdjson::dom::element> v = f.value(key);
  if (!v) return false;
  bool b = false;
  if (v->get(b) == simdjson::SUCCESS) return b;
  std::int64_t i = 0;
  if (v->get(i) == simdjson::SUCCESS) return i != 0;
  set_error(err, f.path_of(key) + ": expected boolean or 0/1, got " + json_type_name(*v));
  return false;
}

// A Base64 field, decoded; an error naming the field when it is not Base64.
std::string base64_field(JsonFields& f, const char* key, std::optional<Error>& err) {
  std::string raw = f.str(key);
  std::optional<std::string> decoded = base64_decode(raw);
  if (!decoded) {
    set_error(err, f.path_of(key) + ": not Base64");
    return {};
  }
  return std::move(*decoded);
}

bool require_object(simdjson::dom::element value, const JsonPath& at, std::optional<Error>& err) {
  if (value.is_object()) return true;
  set_error(err, at.str() + ": expected object, got " + json_type_name(value));
  return false;
}

std::vector<std::string> string_list(JsonFields& f, const char* key, std::optional<Error>& err) {
  std::vector<std::string> out;
  std::optional<simdjson::dom::array> list = f.array(key);
  if (!list) return out;
  std::size_t i = 0;
  for (simdjson::dom::element e : *list) {
    std::string_view text;
    if (e.get(text) == simdjson::SUCCESS) {
      out.emplace_back(text);
    } else {
      set_error(err,
                f.path().element(key, i).str() + ": expected string, got " + json_type_name(e));
    }
    ++i;
  }
  return out;
}

// A `server` object (host_id_list, ip_list, dynamic_group_list, topo_node_list), as JOB answers
// it for host-list variables and file steps.
Targets decode_targets(JsonFields& s, std::optional<Error>& err) {
  Targets t;
  if (std::optional<simdjson::dom::array> ids = s.array("host_id_list")) {
    std::size_t i = 0;
    for (simdjson::dom::element e : *ids) {
      std::int64_t id = 0;
      if (e.get(id) == simdjson::SUCCESS) {
        t.host_ids.push_back(id);
      } else {
        set_error(err, s.path().element("host_id_list", i).str() + ": expected integer, got " +
                           json_type_name(e));
      }
      ++i;
    }
  }
  if (std::optional<simdjson::dom::array> ips = s.array("ip_list")) {
    std::size_t i = 0;
    for (simdjson::dom::element e : *ips) {
      JsonPath at = s.path().element("ip_list", i++);
      if (!require_object(e, at, err)) continue;
      JsonFields h(e, at, &err);
      t.hosts.push_back(decode_host(h));
    }
  }
  if (std::optional<simdjson::dom::array> groups = s.array("dynamic_group_list")) {
    std::size_t i = 0;
    for (simdjson::dom::element e : *groups) {
      JsonPath at = s.path().element("dynamic_group_list", i++);
      if (!require_object(e, at, err)) continue;
      JsonFields g(e, at, &err);
      t.dynamic_group_ids.push_back(g.id_string("id"));
    }
  }
  if (std::optional<simdjson::dom::array> nodes = s.array("topo_node_list")) {
    std::size_t i = 0;
    for (simdjson::dom::element e : *nodes) {
      JsonPath at = s.path().element("topo_node_list", i++);
      if (!require_object(e, at, err)) continue;
      JsonFields n(e, at, &err);
      t.topo_nodes.push_back(TopoNode{n.i64("id"), n.str("node_type")});
    }
  }
  return t;
}

std::optional<Targets> decode_server(JsonFields& owner, const char* key,
                                     std::optional<Error>& err) {
  std::optional<simdjson::dom::object> obj = owner.object(key);
  if (!obj) return std::nullopt;
  JsonFields s(*obj, owner.path().field(key), &err);
  return decode_targets(s, err);
}

// An account as plan steps give it: {id, name, alias}, or bare id, or bare name.
PlanAccount decode_account(JsonFields& owner, const char* key, std::optional<Error>& err) {
  PlanAccount a;
  std::optional<simdjson::dom::element> v = owner.value(key);
  if (!v) return a;
  std::int64_t id = 0;
  std::string_view name;
  if (v->get(id) == simdjson::SUCCESS) {
    a.id = id;
  } else if (v->get(name) == simdjson::SUCCESS) {
    a.name = std::string(name);
  } else if (v->is_object()) {
    JsonFields f(*v, owner.path().field(key), &err);
    a.id = f.i64("id");
    a.name = f.str("name");
    if (a.name.empty()) a.name = f.str("alias");
  } else {
    set_error(err, owner.path_of(key) + ": expected object, integer or string, got " +
                       json_type_name(*v));
  }
  return a;
}

Scope decode_scope(JsonFields& f) {
  Scope scope;
  scope.type = f.str("bk_scope_type", "biz");
  scope.id = f.id_string("bk_scope_id");
  if (scope.id.empty()) scope.id = f.id_string("bk_biz_id");
  return scope;
}

PlanVariable decode_plan_variable(JsonFields& f, std::optional<Error>& err) {
  PlanVariable v;
  v.id = f.i64("id");
  v.name = f.str("name");
  v.description = f.str("description");
  v.type = f.i32("type");
  v.required = flag(f, "required", err);
  v.used = flag(f, "used", err);
  if (v.type == kVarPassword) {
    // JOB answers a mask, never the secret; keeping the mask would let it be sent back as the
    // value, so only the fact that one was set is kept.
    v.masked_value = f.value("value").has_value() && !f.str("value").empty();
  } else {
    v.value = f.str("value");
  }
  v.server = decode_server(f, "server", err);
  return v;
}

PlanScriptInfo decode_script_info(JsonFields& f, std::optional<Error>& err) {
  PlanScriptInfo s;
  s.script_type = f.i32("script_type");
  s.script_id = f.id_string("script_id");
  s.script_version_id = f.i64("script_version_id");
  s.script_content = base64_field(f, "script_content", err);
  s.script_language = f.i32("script_language");
  s.param_sensitive = flag(f, "is_param_sensitive", err);
  // JOB masks sensitive parameters in its answers; a mask decoded as text would mislead.
  if (!s.param_sensitive) s.script_param = base64_field(f, "script_param", err);
  s.timeout_seconds = f.i32("script_timeout");
  if (s.timeout_seconds == 0) s.timeout_seconds = f.i32("timeout");
  s.account = decode_account(f, "account", err);
  return s;
}

PlanFileInfo decode_file_info(JsonFields& f, std::optional<Error>& err) {
  PlanFileInfo info;
  if (std::optional<simdjson::dom::array> list = f.array("file_source_list")) {
    std::size_t i = 0;
    for (simdjson::dom::element e : *list) {
      JsonPath at = f.path().element("file_source_list", i++);
      if (!require_object(e, at, err)) continue;
      JsonFields src(e, at, &err);
      PlanFileSource s;
      s.files = string_list(src, "file_list", err);
      s.server = decode_server(src, "server", err);
      s.account = decode_account(src, "account", err);
      s.file_type = src.i32("file_type");
      info.sources.push_back(std::move(s));
    }
  }
  if (std::optional<simdjson::dom::object> dest = f.object("file_destination")) {
    JsonFields d(*dest, f.path().field("file_destination"), &err);
    info.destination_path = d.str("path");
    info.destination_account = decode_account(d, "account", err);
    info.destination_server = decode_server(d, "server", err);
  }
  info.timeout_seconds = f.i32("timeout");
  info.transfer_mode = f.i32("transfer_mode");
  info.upload_limit_mb = f.i64("upload_speed_limit");
  info.download_limit_mb = f.i64("download_speed_limit");
  return info;
}

PlanApprovalInfo decode_approval_info(JsonFields& f, std::optional<Error>& err) {
  PlanApprovalInfo a;
  a.message = f.str("approval_message");
  if (std::optional<simdjson::dom::object> users = f.object("approval_user")) {
    JsonFields u(*users, f.path().field("approval_user"), &err);
    a.approval_users = string_list(u, "user_list", err);
    a.approval_roles = string_list(u, "role_list", err);
  }
  a.notify_channels = string_list(f, "notify_channel", err);
  return a;
}

PlanStep decode_plan_step(JsonFields& f, std::optional<Error>& err) {
  PlanStep step;
  step.id = f.i64("id");
  step.name = f.str("name");
  step.type = f.i32("type");
  if (std::optional<simdjson::dom::object> o = f.object("script_info")) {
    JsonFields s(*o, f.path().field("script_info"), &err);
    step.script = decode_script_info(s, err);
  }
  if (std::optional<simdjson::dom::object> o = f.object("file_info")) {
    JsonFields s(*o, f.path().field("file_info"), &err);
    step.file = decode_file_info(s, err);
  }
  if (std::optional<simdjson::dom::object> o = f.object("approval_info")) {
    JsonFields s(*o, f.path().field("approval_info"), &err);
    step.approval = decode_approval_info(s, err);
  }
  return step;
}

// Calls read(fields, err) for each object of owner's array `key`; a non-object entry is an error.
template <typename Read>
void for_each_object(JsonFields& owner, const char* key, std::optional<Error>& err, Read read) {
  std::optional<simdjson::dom::array> list = owner.array(key);
  if (!list) return;
  std::size_t i = 0;
  for (simdjson::dom::element e : *list) {
    JsonPath at = owner.path().element(key, i++);
    if (!require_object(e, at, err)) continue;
    JsonFields f(e, at, &err);
    read(f);
  }
}

}  // namespace

Result<EncodedCall> JobCodec::execute_job_plan(const ExecutePlanRequest& r) const {
  json body = json::object();
  put_scope(body, r.scope);
  body["job_plan_id"] = r.job_plan_id;
  if (!r.variables.empty()) {
    json vars = json::array();
    for (std::size_t i = 0; i < r.variables.size(); ++i) {
      const PlanVariableValue& v = r.variables[i];
      json item = json::object();
      if (v.id > 0) item["id"] = v.id;
      if (!v.name.empty()) item["name"] = v.name;
      if (v.value) item["value"] = *v.value;
      if (v.server) {
        Result<json> server =
            encode_targets(*v.server, "global_vars[" + std::to_string(i) + "].server");
        if (!server) return server.error();
        item["server"] = std::move(server.value());
      }
      vars.push_back(std::move(item));
    }
    body["global_var_list"] = std::move(vars);
  }
  if (!r.callback_url.empty()) body["callback_url"] = r.callback_url;
  // Sent only when false: JOB's code defaults it to true, and its docs do not list it.
  if (!r.start_task) body["start_task"] = false;
  return make_post(settings_, apigw_auth_prefix_, "execute_job_plan", path("execute_job_plan"),
                   std::move(body), operator_of(r.operator_name));
}

EncodedCall JobCodec::get_job_plan_list(const PlanListRequest& r) const {
  Query q;
  put_scope(q, r.scope);
  put_if_positive(q, "job_template_id", r.job_template_id);
  put_if(q, "creator", r.creator);
  put_if(q, "name", r.name);
  put_if_positive(q, "create_time_start", r.create_time_start);
  put_if_positive(q, "create_time_end", r.create_time_end);
  put_if(q, "last_modify_user", r.last_modify_user);
  put_if_positive(q, "last_modify_time_start", r.last_modify_time_start);
  put_if_positive(q, "last_modify_time_end", r.last_modify_time_end);
  put_if_positive(q, "start", r.start);
  put_if_positive(q, "length", r.length);
  return make_get(settings_, apigw_auth_prefix_, "get_job_plan_list", path("get_job_plan_list"),
                  std::move(q), operator_of(r.operator_name));
}

EncodedCall JobCodec::get_job_plan_detail(const PlanDetailRequest& r) const {
  Query q;
  put_scope(q, r.scope);
  q.emplace_back("job_plan_id", std::to_string(r.job_plan_id));
  return make_get(settings_, apigw_auth_prefix_, "get_job_plan_detail", path("get_job_plan_detail"),
                  std::move(q), operator_of(r.operator_name));
}

EncodedCall JobCodec::get_job_instance_global_var_value(const GlobalVarValuesRequest& r) const {
  Query q;
  put_scope(q, r.scope);
  q.emplace_back("job_instance_id", std::to_string(r.job_instance_id));
  return make_get(settings_, apigw_auth_prefix_, "get_job_instance_global_var_value",
                  path("get_job_instance_global_var_value"), std::move(q),
                  operator_of(r.operator_name));
}

EncodedCall JobCodec::get_job_instance_list(const JobListRequest& r) const {
  Query q;
  put_scope(q, r.scope);
  // Always sent: JOB requires both and answers 1241002 (naming them) when they are missing.
  q.emplace_back("create_time_start", std::to_string(r.create_time_start));
  q.emplace_back("create_time_end", std::to_string(r.create_time_end));
  put_if_positive(q, "job_instance_id", r.job_instance_id);
  put_if_positive(q, "job_cron_id", r.job_cron_id);
  put_if(q, "operator", r.job_operator);
  put_if(q, "name", r.name);
  put_if(q, "ip", r.ip);
  if (r.launch_mode >= 0) q.emplace_back("launch_mode", std::to_string(r.launch_mode));
  if (r.type >= 0) q.emplace_back("type", std::to_string(r.type));
  if (r.status >= 0) q.emplace_back("status", std::to_string(r.status));
  put_if_positive(q, "start", r.start);
  put_if_positive(q, "length", r.length);
  return make_get(settings_, apigw_auth_prefix_, "get_job_instance_list",
                  path("get_job_instance_list"), std::move(q), operator_of(r.operator_name));
}

EncodedCall JobCodec::operate_step_instance(const OperateStepRequest& r) const {
  json body = json::object();
  put_scope(body, r.scope);
  body["job_instance_id"] = r.job_instance_id;
  body["step_instance_id"] = r.step_instance_id;
  body["operation_code"] = r.operation_code;
  return make_post(settings_, apigw_auth_prefix_, "operate_step_instance",
                   path("operate_step_instance"), std::move(body), operator_of(r.operator_name));
}

// execute_job_plan answers the submits' shape without a step (a plan has several): step 0.
Result<JobRef> JobCodec::decode_execute_plan(int http_status, std::string_view body) {
  return decode_job_ref(http_status, body);
}

Result<PlanPage> JobCodec::decode_plan_list(int http_status, std::string_view body) {
  return decode_data<PlanPage>(http_status, body, [](JsonFields& d, std::optional<Error>& err) {
    PlanPage page;
    page.start = d.i64("start");
    page.length = d.i64("length");
    page.total = d.i64("total");
    for_each_object(d, "data", err, [&](JsonFields& f) {
      PlanSummary p;
      p.id = f.i64("id");
      p.job_template_id = f.i64("job_template_id");
      p.name = f.str("name");
      p.creator = f.str("creator");
      p.create_time = f.i64("create_time");
      p.last_modify_user = f.str("last_modify_user");
      p.last_modify_time = f.i64("last_modify_time");
      p.need_update = flag(f, "need_update", err);
      p.scope = decode_scope(f);
      page.plans.push_back(std::move(p));
    });
    return page;
  });
}

Result<PlanDetail> JobCodec::decode_plan_detail(int http_status, std::string_view body) {
  return decode_data<PlanDetail>(http_status, body, [](JsonFields& d, std::optional<Error>& err) {
    PlanDetail plan;
    plan.id = d.i64("id");
    if (plan.id == 0) plan.id = d.i64("job_plan_id");
    plan.job_template_id = d.i64("job_template_id");
    plan.name = d.str("name");
    plan.creator = d.str("creator");
    plan.create_time = d.i64("create_time");
    plan.last_modify_user = d.str("last_modify_user");
    plan.last_modify_time = d.i64("last_modify_time");
    plan.scope = decode_scope(d);
    for_each_object(d, "global_var_list", err,
                    [&](JsonFields& f) { plan.variables.push_back(decode_plan_variable(f, err)); });
    for_each_object(d, "step_list", err,
                    [&](JsonFields& f) { plan.steps.push_back(decode_plan_step(f, err)); });
    if (!err && plan.id <= 0) err = decode_error("data.id: missing or not positive");
    return plan;
  });
}

Result<JobGlobalVars> JobCodec::decode_global_vars(int http_status, std::string_view body) {
  return decode_data<JobGlobalVars>(
      http_status, body, [](JsonFields& d, std::optional<Error>& err) {
        JobGlobalVars out;
        out.job_instance_id = d.i64("job_instance_id");
        for_each_object(d, "step_instance_var_list", err, [&](JsonFields& s) {
          StepGlobalVars step;
          step.step_instance_id = s.i64("step_instance_id");
          for_each_object(s, "global_var_list", err, [&](JsonFields& v) {
            GlobalVarValue value;
            value.name = v.str("name");
            value.value = v.str("value");
            value.type = v.i32("type");
            step.vars.push_back(std::move(value));
          });
          out.steps.push_back(std::move(step));
        });
        return out;
      });
}

Result<JobInstancePage> JobCodec::decode_job_list(int http_status, std::string_view body) {
  return decode_data<JobInstancePage>(http_status, body,
                                      [](JsonFields& d, std::optional<Error>& err) {
                                        JobInstancePage page;
                                        page.start = d.i64("start");
                                        page.length = d.i64("length");
                                        page.total = d.i64("total");
                                        for_each_object(d, "data", err, [&](JsonFields& f) {
                                          JobInstanceSummary j;
                                          j.job_instance_id = f.i64("job_instance_id");
                                          j.job_plan_id = f.i64("job_plan_id");
                                          j.job_template_id = f.i64("job_template_id");
                                          j.name = f.str("name");
                                          j.job_operator = f.str("operator");
                                          j.launch_mode = f.i32("launch_mode");
                                          j.status = f.i32("status");
                                          j.type = f.i32("type");
                                          j.create_time = f.i64("create_time");
                                          j.start_time = f.i64("start_time");
                                          j.end_time = f.i64("end_time");
                                          j.total_time = f.i64("total_time");
                                          j.scope = decode_scope(f);
                                          page.jobs.push_back(std::move(j));
                                        });
                                        return page;
                                      });
}

Result<StepRef> JobCodec::decode_operate_step(int http_status, std::string_view body) {
  Result<StepRef> out =
      decode_data<StepRef>(http_status, body, [](JsonFields& d, std::optional<Error>&) {
        StepRef ref;
        ref.job_instance_id = d.i64("job_instance_id");
        ref.step_instance_id = d.i64("step_instance_id");
        return ref;
      });
  // A well-formed operation the step's state refuses (confirming a step that no longer waits,
  // retrying one that succeeded): callers racing the step's progress must tell it from a bad
  // request.
  if (!out && out.error().kind == ErrorKind::kJob &&
      (out.error().job_code == kJobCodeStepStateRefused ||
       out.error().job_code == kJobCodeIllegalParamReason)) {
    out.error().kind = ErrorKind::kFailedPrecondition;
  }
  return out;
}

}  // namespace jobgw::core
