#include "server/callback_endpoint.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/base/log_throttle.h"
#include "core/watch/watch_hub.h"
#include "server/callback_secret.h"
#include "server/server_metrics.h"
#include "server/url_decode.h"

namespace jobgw::server {
namespace {

using Json = nlohmann::json;

// Far deeper than the documented shape (3 levels) and far shallower than a stack could mind.
constexpr int kMaxDepth = 32;

core::Error decode_error(std::string message) {
  core::Error e;
  e.kind = core::ErrorKind::kDecode;
  e.message = "callback body: " + std::move(message);
  return e;
}

// Rejects deep nesting before nlohmann builds (and later destroys) a tree from it.
bool nesting_within(std::string_view body, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

template <typename T>
bool integer_field(const Json& object, const char* name, T min, T max, T& out,
                   std::string& problem) {
  auto it = object.find(name);
  if (it == object.end()) {
    problem = std::string(name) + " is missing";
    return false;
  }
  if (it->is_number_unsigned()) {
    auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(max)) {
      problem = std::string(name) + " is out of range";
      return false;
    }
    out = static_cast<T>(v);
  } else if (it->is_number_integer()) {
    auto v = it->get<std::int64_t>();
    if (v < static_cast<std::int64_t>(min) || v > static_cast<std::int64_t>(max)) {
      problem = std::string(name) + " is out of range";
      return false;
    }
    out = static_cast<T>(v);
  } else {
    problem = std::string(name) + " must be an integer, got " + it->type_name();
    return false;
  }
  if (out < min) {
    problem = std::string(name) + " is out of range";
    return false;
  }
  return true;
}

// "application/x-www-form-urlencoded" from "Application/X-WWW-Form-Urlencoded; charset=UTF-8".
std::string media_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  std::string out;
  for (char c : type) {
    if (c == ' ' || c == '\t') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

bool starts_json_object(std::string_view text) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{';
}

bool all_digits(const std::string& text) {
  if (text.empty() || text.size() > 19) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

HttpListenerResponse text(int status, std::string body) {
  HttpListenerResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpListenerResponse json_answer(int status, const char* outcome) {
  HttpListenerResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::string("{\"result\":") + (status == 200 ? "true" : "false") + ",\"outcome\":\"" +
           outcome + "\"}";
  return r;
}

HttpListenerResponse method_not_allowed(const char* allow) {
  HttpListenerResponse r = text(405, "method not allowed\n");
  r.headers.emplace_back("Allow", allow);
  return r;
}

HttpListenerResponse handle_callback(const RouteTargets& t, const HttpListenerRequest& req) {
  auto count = [&](const char* outcome) {
    if (t.metrics != nullptr) t.metrics->callback(outcome);
  };
  // Anyone who reaches the listener can send these: each one is counted, only the first few of
  // each outcome per interval are logged.
  auto loggable = [&](const char* outcome) {
    return t.refusal_log == nullptr || t.refusal_log->admit(outcome);
  };
  // Before anything else reads the request: a forged callback must not even reach the parser.
  if (t.callback_secret == nullptr || !t.callback_secret->verify(req.target)) {
    count("refused");
    if (loggable("refused")) {
      spdlog::warn(
          "event=job_callback outcome=refused reason=\"missing or invalid token\" remote={}",
          req.remote);
    }
    return json_answer(403, "refused");
  }
  if (req.method != "POST") {
    count("method_not_allowed");
    if (loggable("method_not_allowed")) {
      spdlog::warn("event=job_callback outcome=method_not_allowed method=\"{}\" remote={}",
                   req.method.substr(0, 16), req.remote);
    }
    HttpListenerResponse r = json_answer(405, "method_not_allowed");
    r.headers.emplace_back("Allow", "POST");
    return r;
  }
  auto parsed = parse_job_callback(req.content_type, req.body);
  if (!parsed) {
    count("malformed");
    if (loggable("malformed")) {
      spdlog::warn("event=job_callback outcome=malformed bytes={} remote={} error=\"{}\"",
                   req.body.size(), req.remote, parsed.error().message);
    }
    // Says what is wrong (never quoting the body), for whoever reads JOB's callback log.
    HttpListenerResponse r = json_answer(400, "malformed");
    r.body =
        Json{{"result", false}, {"outcome", "malformed"}, {"error", parsed.error().message}}.dump(
            -1, ' ', false, Json::error_handler_t::replace);
    return r;
  }
  const JobCallback& cb = parsed.value();
  bool known = t.hub->callback_arrived(cb.job_instance_id);
  const char* outcome = known ? "accepted" : "unknown_job";
  count(outcome);
  spdlog::info("event=job_callback outcome={} job_instance_id={} status={} steps={} remote={}",
               outcome, cb.job_instance_id, cb.status, cb.steps.size(), req.remote);
  return json_answer(known ? 200 : 404, outcome);
}

}  // namespace

core::Result<JobCallback> parse_job_callback(std::string_view body) {
  if (!nesting_within(body, kMaxDepth)) return decode_error("nested too deeply");
  Json doc = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return decode_error("not valid JSON");
  if (!doc.is_object())
    return decode_error(std::string("expected an object, got ") + doc.type_name());

  JobCallback out;
  std::string problem;
  if (!integer_field<std::int64_t>(doc, "job_instance_id", 1,
                                   std::numeric_limits<std::int64_t>::max(), out.job_instance_id,
                                   problem) ||
      !integer_field<int>(doc, "status", 0, std::numeric_limits<int>::max(), out.status, problem)) {
    return decode_error(problem);
  }
  // JOB's docs name the list step_instance_list, its code sends step_instances.
  const char* list_name = "step_instance_list";
  auto steps = doc.find(list_name);
  if (steps == doc.end() || steps->is_null()) {
    list_name = "step_instances";
    steps = doc.find(list_name);
  }
  if (steps != doc.end() && !steps->is_null()) {
    if (!steps->is_array()) {
      return decode_error(std::string(list_name) + " must be an array, got " + steps->type_name());
    }
    for (std::size_t i = 0; i < steps->size(); ++i) {
      const Json& s = (*steps)[i];
      std::string where = std::string(list_name) + "[" + std::to_string(i) + "]";
      if (!s.is_object()) return decode_error(where + " must be an object");
      JobCallback::Step step;
      if (!integer_field<std::int64_t>(s, "step_instance_id", 1,
                                       std::numeric_limits<std::int64_t>::max(),
                                       step.step_instance_id, problem) ||
          !integer_field<int>(s, "status", 0, std::numeric_limits<int>::max(), step.status,
                              problem)) {
        return decode_error(where + "." + problem);
      }
      out.steps.push_back(step);
    }
  }
  return out;
}

core::Result<JobCallback> parse_job_callback(std::string_view content_type, std::string_view body) {
  if (media_type(content_type) != "application/x-www-form-urlencoded") {
    return parse_job_callback(body);
  }
  // What JOB's code sends: the JSON text itself, unencoded.
  if (starts_json_object(body)) return parse_job_callback(body);
  std::optional<std::string> decoded = url_decode(body, /*plus_is_space=*/true);
  if (!decoded) return decode_error("form body: bad percent-encoding");
  if (starts_json_object(*decoded)) return parse_job_callback(*decoded);
  // Form fields: one holding the JSON text (a client that wraps it, e.g. data=...), or the
  // callback's own two numbers.
  std::string job_instance_id;
  std::string status;
  bool has_fields = false;
  std::string_view rest = body;
  while (!rest.empty()) {
    std::size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::optional<std::string> key = url_decode(pair.substr(0, eq), /*plus_is_space=*/true);
    std::optional<std::string> value = url_decode(pair.substr(eq + 1), /*plus_is_space=*/true);
    if (!key || !value) return decode_error("form body: bad percent-encoding");
    has_fields = true;
    if (starts_json_object(*value)) return parse_job_callback(*value);
    if (*key == "job_instance_id") job_instance_id = *value;
    if (*key == "status") status = *value;
  }
  if (!has_fields) {
    return decode_error("form body is neither JSON text nor URL-encoded JSON nor form fields");
  }
  if (job_instance_id.empty() || status.empty()) {
    return decode_error(
        "form body has no field holding JSON text, nor job_instance_id and status fields");
  }
  if (!all_digits(job_instance_id) || !all_digits(status)) {
    return decode_error("form fields job_instance_id and status must be integers");
  }
  return parse_job_callback("{\"job_instance_id\":" + job_instance_id + ",\"status\":" + status +
                            "}");
}

HttpListener::Handler make_http_routes(RouteTargets targets) {
  return [t = targets](const HttpListenerRequest& req) -> HttpListenerResponse {
    if (req.path == kCallbackPath && t.hub != nullptr) return handle_callback(t, req);
    if (req.path == "/metrics" && t.serve_metrics && t.metrics != nullptr) {
      if (req.method != "GET") return method_not_allowed("GET");
      HttpListenerResponse r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = t.metrics->serialize();
      return r;
    }
    if (req.path == "/healthz") {
      if (req.method != "GET") return method_not_allowed("GET");
      return text(200, "ok\n" + (t.health_detail ? t.health_detail() : std::string()));
    }
    if (t.hub != nullptr && t.metrics != nullptr) {
      // On the listener JOB calls, a stray path usually means a misconfigured callback URL.
      t.metrics->callback("not_found");
    }
    return text(404, "not found\n");
  };
}

}  // namespace jobgw::server
