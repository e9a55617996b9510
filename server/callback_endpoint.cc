#include "server/callback_endpoint.h"

#include <spdlog/spdlog.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "core/base/log_throttle.h"
#include "core/watch/watch_hub.h"
#include "server/callback_secret.h"
#include "server/server_metrics.h"

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
  auto parsed = parse_job_callback(req.body);
  if (!parsed) {
    count("malformed");
    if (loggable("malformed")) {
      spdlog::warn("event=job_callback outcome=malformed bytes={} remote={} error=\"{}\"",
                   req.body.size(), req.remote, parsed.error().message);
    }
    return json_answer(400, "malformed");
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
  auto steps = doc.find("step_instance_list");
  if (steps != doc.end() && !steps->is_null()) {
    if (!steps->is_array()) {
      return decode_error(std::string("step_instance_list must be an array, got ") +
                          steps->type_name());
    }
    for (std::size_t i = 0; i < steps->size(); ++i) {
      const Json& s = (*steps)[i];
      std::string where = "step_instance_list[" + std::to_string(i) + "]";
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
