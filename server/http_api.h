#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/scheduler.h"
#include "server/call_status.h"
#include "server/http_listener.h"

namespace jobgw::server {

class JobGatewayService;
class ServerMetrics;

struct HttpApiOptions {
  // Origins whose pages may call (CORS); empty: no CORS headers at all.
  std::vector<std::string> cors_origins;
  // A comment line on event streams this often.
  std::chrono::milliseconds heartbeat{15000};
  // Told how many event streams are open; null: not counted.
  ServerMetrics* metrics = nullptr;
  // GET /healthz: lines after "ok" (JOB's reachability); null: "ok" alone.
  std::function<std::string()> health_detail;
  // When set, requests refused before they made a call (bad JSON, a bad query) are logged at
  // warn level, as many as it admits; unset: not logged.
  core::LogThrottle* refusal_log = nullptr;
};

// The HTTP status a call's status becomes (Google's HTTP mapping of the gRPC codes).
int http_status_of(StatusCode code);

// The listener's own answers (400 malformed, 413, 431, 500) as the face's JSON errors.
HttpListenerResponse own_answer(int status, std::string_view message);

// "https://a, http://b" -> {"https://a", "http://b"}.
std::vector<std::string> parse_origins(const std::string& list);

// The HTTP/JSON + Server-Sent Events face of the JobGateway service (README "HTTP API",
// docs/openapi.yaml), and the status page at /. Every route hands its call to the service's
// transport-neutral method, so tokens, grants, validation, admission, audit and metrics are the
// pipeline's, exactly as over gRPC. Bodies are protobuf's canonical JSON mapping of the proto
// messages (the library's own conversion); streams are text/event-stream whose `id:` is the
// seq, resumed by Last-Event-ID like after_seq.
class HttpApi {
 public:
  HttpApi(JobGatewayService& service, core::Scheduler& scheduler, HttpApiOptions options);
  ~HttpApi();

  // The listener's handler.
  void handle(const HttpListenerRequest& request, std::shared_ptr<HttpResponder> responder);
  AsyncHandler handler();

  // Event streams open now.
  std::size_t open_streams() const;

  class Impl;  // opaque; public only so the stream type in the .cc can name it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace jobgw::server
