#include "jobsim/router.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "jobsim/api_error.h"
#include "jobsim/text_util.h"

namespace jobsim {

using nlohmann::json;

namespace {

const std::string kApigwPrefix = "/api/v3/";
const std::string kEsbPrefix = "/api/c/compapi/v2/jobv3/";

HttpOut json_out(int status, const json& body) {
  HttpOut out;
  out.status = status;
  // Script output may hold any bytes: invalid UTF-8 becomes U+FFFD instead of an exception.
  out.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return out;
}

// An answer of the API gateway itself (not of JOB): another JSON shape than the envelope.
HttpOut gateway_error(int status, int64_t code, const std::string& code_name,
                      const std::string& message) {
  HttpOut out = json_out(status, {{"result", false},
                                  {"code", code},
                                  {"code_name", code_name},
                                  {"message", message},
                                  {"data", nullptr}});
  out.headers.emplace_back("X-Bkapi-Error-Code", std::to_string(code));
  out.headers.emplace_back("X-Bkapi-Error-Message", message);
  return out;
}

json envelope(bool ok, int64_t code, const std::string& message, json data,
              const std::string& request_id) {
  return {{"result", ok},
          {"code", code},
          {"message", message},
          {"data", std::move(data)},
          {"request_id", request_id},
          {"permission", nullptr}};
}

std::string reason_phrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error";
  }
}

// "/api/v3/name/" or "/api/v3/name" -> name; "" when the path is not below `prefix`.
std::string endpoint_name(const std::string& path, const std::string& prefix) {
  if (path.compare(0, prefix.size(), prefix) != 0) return "";
  std::string rest = path.substr(prefix.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos) return "";
  return rest;
}

}  // namespace

HttpOut Router::handle(const HttpIn& in) {
  try {
    std::string path = in.target, query;
    size_t q = path.find('?');
    if (q != std::string::npos) {
      query = path.substr(q + 1);
      path = path.substr(0, q);
    }
    std::string mode, name;
    if (path.compare(0, kApigwPrefix.size(), kApigwPrefix) == 0) {
      mode = "apigw";
      name = endpoint_name(path, kApigwPrefix);
    } else if (path.compare(0, kEsbPrefix.size(), kEsbPrefix) == 0) {
      mode = "esb";
      name = endpoint_name(path, kEsbPrefix);
    } else if (path.compare(0, 8, "/jobsim/") == 0) {
      return handle_admin(in, path, query);
    }
    if (!mode.empty() && JobApi::is_endpoint(name)) return handle_api(in, name, mode, query);
    return gateway_error(404, 1640404, "API_NOT_FOUND", "No API matches " + in.method + " " + path);
  } catch (const std::exception& e) {
    spdlog::error("event=router_error target={} error=\"{}\"", in.target, e.what());
    return gateway_error(500, 1640500, "INTERNAL_ERROR", std::string("jobsim: ") + e.what());
  }
}

HttpOut Router::handle_api(const HttpIn& in, const std::string& name, const std::string& mode,
                           const std::string& query) {
  const std::string request_id = new_request_id();
  stats_.request(name, mode);
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  if (name == "get_job_instance_status") {
    auto params = parse_query(query);
    auto it = params.find("job_instance_id");
    if (it != params.end()) {
      try {
        stats_.status_read(std::stoll(it->second), now_ms);
      } catch (const std::exception&) {
      }
    }
  } else if (name == "get_job_instance_list") {
    stats_.list_read(now_ms);
  }
  FaultDecision fault = faults_.decide(name);
  if (fault.latency_ms > 0) stats_.fault("latency");
  HttpOut out;
  bool truncate = false;
  if (fault.action) {
    const FaultRule& r = *fault.action;
    stats_.fault(fault_kind_name(r.kind));
    spdlog::info("event=fault endpoint={} kind={} value={}", name, fault_kind_name(r.kind),
                 r.value);
    switch (r.kind) {
      case FaultKind::kThrottle:
        out = gateway_error(429, 1642901, "RATE_LIMIT_RESTRICTION",
                            "API rate limit exceeded (jobsim fault)");
        out.headers.emplace_back("Retry-After", std::to_string(r.value));
        break;
      case FaultKind::kStatus:
        out = gateway_error(static_cast<int>(r.value), 1650000 + r.value, "BACKEND_ERROR",
                            "jobsim fault: HTTP " + std::to_string(r.value));
        break;
      case FaultKind::kHtml: {
        std::string title =
            std::to_string(r.value) + " " + reason_phrase(static_cast<int>(r.value));
        out.status = static_cast<int>(r.value);
        out.content_type = "text/html";
        out.body = "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" +
                   title + "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
        break;
      }
      case FaultKind::kReset:
        out.reset = true;
        break;
      case FaultKind::kCode:
        out = json_out(
            200, envelope(false, r.value, "jobsim fault: JOB error " + std::to_string(r.value),
                          nullptr, request_id));
        break;
      case FaultKind::kTruncate:
        truncate = true;
        break;
      case FaultKind::kLatency:
        break;
    }
    if (!truncate) {
      out.delay_ms = fault.latency_ms;
      out.headers.emplace_back("X-Bkapi-Request-Id", request_id);
      return out;
    }
  }
  out = call_api(in, name, mode, query, request_id);
  out.headers.emplace_back("X-Bkapi-Request-Id", request_id);
  out.delay_ms = fault.latency_ms;
  if (truncate) out.body = out.body.substr(0, out.body.size() / 2);
  return out;
}

HttpOut Router::call_api(const HttpIn& in, const std::string& name, const std::string& mode,
                         const std::string& query, const std::string& request_id) {
  const bool is_get = JobApi::is_get(name);
  if (in.method != (is_get ? "GET" : "POST")) {
    HttpOut out = gateway_error(405, 1640405, "METHOD_NOT_ALLOWED",
                                name + " takes " + (is_get ? "GET" : "POST"));
    out.headers.emplace_back("Allow", is_get ? "GET" : "POST");
    return out;
  }
  auto unauthenticated = [&](const std::string& message) {
    spdlog::info("event=auth_failed endpoint={} mode={} reason=\"{}\"", name, mode, message);
    return gateway_error(401, 1640001, "UNAUTHENTICATED", message);
  };
  // apigw checks the header before the body is looked at.
  AuthResult auth;
  if (mode == "apigw") {
    auto it = in.headers.find("x-bkapi-authorization");
    auth = check_apigw_auth(auth_, it == in.headers.end() ? "" : it->second);
    if (!auth.ok) return unauthenticated(auth.message);
  }
  json params = json::object();
  if (is_get) {
    for (auto& [k, v] : parse_query(query)) params[k] = v;
  } else {
    params = json::parse(in.body, nullptr, false);
    if (params.is_discarded() || !params.is_object()) {
      // esb credentials cannot be read from a body that does not parse.
      if (auth_.enabled() && mode == "esb") {
        return unauthenticated("App authentication failed: the request body is not a JSON object");
      }
      return json_out(200, envelope(false, code::kIllegalParam,
                                    "Illegal parameter: the request body is not a JSON object",
                                    nullptr, request_id));
    }
  }
  if (mode == "esb") {
    auth = check_esb_auth(auth_, params);
    if (!auth.ok) return unauthenticated(auth.message);
  }
  try {
    json data = api_.call(name, params, auth.username);
    return json_out(200, envelope(true, 0, "success", std::move(data), request_id));
  } catch (const ApiError& e) {
    spdlog::info("event=api_error endpoint={} code={} message=\"{}\"", name, e.code(), e.what());
    return json_out(200, envelope(false, e.code(), e.what(), nullptr, request_id));
  } catch (const std::exception& e) {
    spdlog::error("event=api_internal_error endpoint={} error=\"{}\"", name, e.what());
    return json_out(200, envelope(false, code::kInternal,
                                  std::string("Internal error: ") + e.what(), nullptr, request_id));
  }
}

HttpOut Router::handle_admin(const HttpIn& in, const std::string& path, const std::string& query) {
  auto bad = [](int status, const std::string& msg) { return json_out(status, {{"error", msg}}); };
  if (path == "/jobsim/healthz") {
    return json_out(
        200, {{"ok", true}, {"hosts", inventory_.hosts().size()}, {"executor", executor_name_}});
  }
  if (path == "/jobsim/stats") {
    if (in.method != "GET") return bad(405, "use GET");
    json j = stats_.to_json();
    j["jobs"] = {{"created_total", store_.created_total()},
                 {"kept", store_.size()},
                 {"running", store_.running()}};
    j["running_hosts"] = executor_.running();
    return json_out(200, j);
  }
  if (path == "/jobsim/admin/stats/reset") {
    if (in.method != "POST") return bad(405, "use POST");
    stats_.reset();
    return json_out(200, {{"ok", true}});
  }
  if (path == "/jobsim/inventory") {
    json hosts = json::array();
    for (auto& h : inventory_.hosts()) {
      hosts.push_back({{"host_id", h.host_id},
                       {"ip", h.ip},
                       {"cloud_id", h.cloud_id},
                       {"scope_type", h.scope.type},
                       {"scope_id", h.scope.id},
                       {"agent", h.agent_abnormal ? "abnormal" : "normal"}});
    }
    return json_out(200, {{"hosts", hosts}});
  }
  if (path == "/jobsim/admin/faults") {
    auto listing = [this] {
      json rules = json::array();
      for (auto& r : faults_.rules()) rules.push_back(fault_to_json(r));
      return json_out(200, {{"seed", faults_.seed()}, {"faults", rules}});
    };
    if (in.method == "GET") return listing();
    if (in.method == "DELETE") {
      faults_.clear();
      spdlog::info("event=faults_cleared");
      return listing();
    }
    if (in.method != "POST") return bad(405, "use GET, POST or DELETE");
    json body = json::parse(in.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return bad(400, "body must be a JSON object");
    std::vector<FaultRule> rules;
    try {
      if (body.contains("spec")) {
        if (!body["spec"].is_string()) return bad(400, "spec must be a string");
        rules.push_back(parse_fault_spec(body["spec"].get<std::string>()));
      }
      if (body.contains("specs")) {
        if (!body["specs"].is_array()) return bad(400, "specs must be an array of strings");
        for (auto& s : body["specs"]) {
          if (!s.is_string()) return bad(400, "specs must be an array of strings");
          rules.push_back(parse_fault_spec(s.get<std::string>()));
        }
      }
    } catch (const std::invalid_argument& e) {
      return bad(400, e.what());
    }
    if (body.contains("seed")) {
      if (!body["seed"].is_number_unsigned())
        return bad(400, "seed must be a non-negative integer");
      faults_.reseed(body["seed"].get<uint64_t>());
    }
    if (body.value("replace", false)) faults_.clear();
    for (auto& r : rules) {
      faults_.add(r);
      spdlog::info("event=fault_added spec=\"{}\"", r.spec);
    }
    return listing();
  }
  return gateway_error(404, 1640404, "API_NOT_FOUND", "No jobsim endpoint " + path);
}

}  // namespace jobsim
