// JOB's callback POSTs, any bytes as the body, through server/callback_endpoint: the pure parser
// (parse_job_callback) and the route that pokes the WatchHub. Properties: a parsed callback names
// a positive job and non-negative statuses; the route answers 400 exactly when the parser refuses,
// otherwise 200 for a watched job and 404 for any other, and never throws.

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/metrics/metrics.h"
#include "core/watch/watch_hub.h"
#include "fuzz/fuzz_check.h"
#include "server/callback_endpoint.h"
#include "server/callback_secret.h"
#include "server/server_metrics.h"
#include "tests/support/manual_scheduler.h"

namespace {

namespace core = jobgw::core;
namespace server = jobgw::server;

// Jobs the hub watches, so valid callbacks reach both the accepted and the unknown-job answer.
constexpr std::int64_t kWatchedJobs[] = {1, 12345};

// Every read finds the job still running, so watches stay and pokes always find them.
class RunningSource : public core::StatusSource {
 public:
  void read_status(const core::Scope& scope, std::int64_t job,
                   std::function<void(core::Result<core::JobSnapshot>)> done) override {
    core::JobSnapshot snap;
    snap.scope = scope;
    snap.job_instance_id = job;
    snap.status = 2;
    done(snap);
  }
};

server::ServerMetrics& metrics() {
  static core::Metrics core_metrics;
  static server::ServerMetrics m(core_metrics);
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Log lines are still formatted (the route logs every callback), just not written anywhere.
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>()));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);

  auto parsed = server::parse_job_callback(body);
  if (parsed) {
    FUZZ_CHECK(parsed->job_instance_id > 0, "a callback names a job");
    FUZZ_CHECK(parsed->status >= 0, "a job status is not negative");
    for (const auto& step : parsed->steps) {
      FUZZ_CHECK(step.step_instance_id > 0 && step.status >= 0, "a step is named, status >= 0");
    }
  } else {
    FUZZ_CHECK(parsed.error().kind == core::ErrorKind::kDecode, "a bad body is a decode error");
    FUZZ_CHECK(parsed.error().message.rfind("callback body: ", 0) == 0, "the message says where");
  }

  // A fresh hub per input keeps every run reproducible from its input alone.
  core::ManualScheduler scheduler;
  RunningSource source;
  core::WatchHub hub(scheduler, source, core::WatchHubConfig{}, &metrics().core(),
                     [] { return 0.5; });
  for (std::int64_t job : kWatchedJobs) hub.watch(core::Scope{"biz", "1"}, job);
  scheduler.run_due();

  // Callbacks carry the token jobgw minted; without one the same body is refused unread.
  static const server::CallbackSecret secret(std::string(32, 'f'));
  auto routes = server::make_http_routes(server::RouteTargets{&hub, &metrics(), true, &secret});
  server::HttpListenerRequest request;
  request.method = "POST";
  request.path = std::string(server::kCallbackPath);
  request.target = request.path;
  request.content_type = "application/json";
  request.body = body;
  request.remote = "127.0.0.1:1";
  FUZZ_CHECK(routes(request).status == 403, "a callback without a token is refused");
  request.target = secret.mint(request.path);
  server::HttpListenerResponse response = routes(request);

  if (!parsed) {
    FUZZ_CHECK(response.status == 400, "a malformed callback is 400");
  } else {
    bool watched = false;
    for (std::int64_t job : kWatchedJobs) watched = watched || parsed->job_instance_id == job;
    FUZZ_CHECK(response.status == (watched ? 200 : 404), "200 for a watched job, else 404");
  }
  scheduler.advance(std::chrono::seconds(1));
  hub.shutdown(core::Error::internal("fuzz input done"));
  scheduler.run_due();
  return 0;
}
