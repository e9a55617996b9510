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

}  // namespace jobgw::core
