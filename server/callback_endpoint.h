#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "server/http_listener.h"

namespace jobgw::core {
class LogThrottle;
class WatchHub;
}  // namespace jobgw::core

namespace jobgw::server {

class ServerMetrics;

class CallbackSecret;

inline constexpr std::string_view kCallbackPath = "/jobgw/v1/callback";

// JOB's callback body (docs/JOB_API.md "Callback"). Only a hint that the job may have ended:
// the poll that follows is the truth, so statuses are kept as JOB sent them.
struct JobCallback {
  struct Step {
    std::int64_t step_instance_id = 0;
    int status = 0;
  };
  std::int64_t job_instance_id = 0;
  int status = 0;
  std::vector<Step> steps;
};

// Pure and total: any input gives a JobCallback or a kDecode Error naming the field; never
// throws, never recurses on attacker-controlled nesting. Unknown fields are ignored so JOB can
// add some. Error messages never quote the body.
// The step list is read from `step_instance_list` (JOB's docs) or `step_instances` (what JOB's
// code sends).
core::Result<JobCallback> parse_job_callback(std::string_view body);

// The body as JOB sends it under `content_type` (the header's value, parameters included).
// JOB retries a refused callback as application/x-www-form-urlencoded with the same JSON text as
// its body; a form body is read as that JSON text, as URL-encoded JSON text, or as form fields
// one of which holds the JSON text (or which are job_instance_id and status themselves). Any
// other type is read as JSON.
core::Result<JobCallback> parse_job_callback(std::string_view content_type, std::string_view body);

// What the HTTP routes serve; a null pointer leaves that route out (404).
struct RouteTargets {
  // POST kCallbackPath -> hub->poke(job_instance_id).
  core::WatchHub* hub = nullptr;
  // GET /metrics -> metrics->serialize(). Callback outcomes are counted here as well when set.
  ServerMetrics* metrics = nullptr;
  bool serve_metrics = false;
  // Verifies the token every callback must carry (see CallbackSecret); when null, every callback
  // is refused: the route fails closed.
  const CallbackSecret* callback_secret = nullptr;
  // GET /healthz: lines after "ok" (JOB's reachability); null: "ok" alone.
  std::function<std::string()> health_detail;
  // Bounds the log lines of refused, malformed and wrong-method callbacks (counted all the same);
  // null: one line each.
  core::LogThrottle* refusal_log = nullptr;
};

// The handler behind callback and metrics listeners (they may share one address):
//   POST /jobgw/v1/callback: 403 without a valid token (counted as "refused", nothing else
//                            is looked at), else 200 accepted (a watch knows the job),
//                            404 unknown job, 400 malformed, 405 other methods;
//   GET  /metrics:           Prometheus text format;
//   GET  /healthz:           200 "ok";
//   anything else:           404.
HttpListener::Handler make_http_routes(RouteTargets targets);

}  // namespace jobgw::server
