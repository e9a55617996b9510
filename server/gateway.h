#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/base/log_throttle.h"
#include "core/base/scheduler.h"
#include "core/job/job_client.h"
#include "core/job/job_reachability.h"
#include "core/logs/log_follow_hub.h"
#include "core/logs/log_source.h"
#include "core/metrics/metrics.h"
#include "core/redis/redis_client.h"
#include "core/replica/redis_read_budget.h"
#include "core/replica/redis_submit_keys.h"
#include "core/replica/redis_watch_feed.h"
#include "core/security/audit_log.h"
#include "core/security/caller_limits.h"
#include "core/submit/idempotent_submitter.h"
#include "core/submit/submit_store.h"
#include "core/watch/job_client_status_source.h"
#include "core/watch/token_bucket.h"
#include "core/watch/watch_hub.h"
#include "server/authorizer.h"
#include "server/callback_secret.h"
#include "server/config.h"
#include "server/credentials_watcher.h"
#include "server/http_api.h"
#include "server/http_listener.h"
#include "server/job_catalog.h"
#include "server/job_gateway_service.h"
#include "server/redis_job_catalog.h"
#include "server/replica_metrics.h"
#include "server/server_metrics.h"

namespace jobgw::server {

// Why a gateway did not start: the configuration key at fault and what went wrong. jobgw exits
// with `exit_code` (1; 2 when JOB's client cannot be built from the job.* keys).
struct StartupError {
  std::string key;
  std::string message;
  int exit_code = 1;
};

// One jobgw: builds every component in dependency order (metrics, security, state store, io
// threads, JOB client, hub, submitter, HTTP listeners, service, gRPC server) and tears them down
// in reverse. main() only parses flags, sets up logging and waits for signals; tests run a whole
// gateway in their own process.
class Gateway {
 public:
  explicit Gateway(GatewayConfig config);
  // Stops what is still running, at once.
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Builds and starts everything, then writes ports_file when set. On failure whatever was built
  // is torn down, and the error names the key. Once per Gateway.
  std::optional<StartupError> start();
  // Reloads the credentials file (SIGHUP); nothing to reload in insecure dev mode.
  void reload_credentials();
  // Health NOT_SERVING, streams end UNAVAILABLE (clients reconnect with after_seq), unary calls
  // in flight get `grace` to finish, then everything stops. Idempotent.
  void stop(std::chrono::milliseconds grace);

  // The bound ports (0: that listener is off or not started).
  int grpc_port() const { return grpc_port_; }
  int metrics_port() const;
  int callback_port() const;
  // The HTTP/JSON + SSE face and status page (0: off).
  int http_port() const { return http_listener_ ? http_listener_->port() : 0; }
  // The URL JOB's callbacks are sent to, without a job's token; empty when callbacks are off.
  const std::string& callback_url() const { return callback_url_; }

 private:
  std::optional<StartupError> start_security();
  std::optional<StartupError> open_state();
  std::optional<StartupError> start_core();
  // With state.redis_url: the Redis connection and what replicas share on it.
  std::optional<StartupError> start_replication();
  // With state.redis_url: the feed that fills the front hub from the shared logs.
  std::optional<StartupError> start_feed();
  void register_unfinished();
  std::optional<StartupError> start_http();
  // The HTTP/JSON + SSE face, once the service exists.
  std::optional<StartupError> start_http_api();
  std::optional<StartupError> start_grpc();
  ServiceOptions service_options() const;
  const HttpListener* metrics_listener() const;
  void log_started() const;
  // Stops the timers, listeners, JOB client and io threads; what stop() and a failed start() do
  // after the gRPC server is down.
  void stop_threads();

  // The gRPC health name whose status is JOB's reachability (the server's own stays SERVING).
  static constexpr const char* kJobHealthName = "jobgw.v1.JOB";
  void set_job_health(bool up);
  std::function<std::string()> job_health_text() const;

  const GatewayConfig config_;
  core::Metrics core_metrics_;
  ServerMetrics metrics_{core_metrics_};
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<core::AuditLog> audit_;
  std::unique_ptr<core::SubmitStore> store_;
  std::uint64_t run_number_ = 0;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::unique_ptr<core::JobClient> job_;
  std::unique_ptr<core::AsioScheduler> scheduler_;
  std::shared_ptr<core::JobReachability> reachability_;
  std::mutex health_mu_;
  bool grpc_serving_ = false;  // guarded by health_mu_
  std::unique_ptr<core::JobClientStatusSource> source_;
  // One replica: the read budget the hub's polls and the log follows share.
  std::shared_ptr<core::TokenBucket> bucket_;
  std::unique_ptr<core::WatchHub> hub_;
  std::unique_ptr<core::JobClientLogSource> log_source_;
  std::unique_ptr<core::LogFollowHub> logs_;
  // ListJobs' source: this hub's jobs, or with Redis every replica's.
  std::unique_ptr<LocalJobCatalog> catalog_;
  std::unique_ptr<RedisJobCatalog> redis_catalog_;
  JobCatalog* catalog_ptr_ = nullptr;
  std::unique_ptr<core::CallerLimits> caller_limits_;
  // Bound the log lines clients can cause at will: forged or malformed callbacks, calls refused
  // for what they sent, HTTP requests refused before they made a call. Each writes a summary of
  // what it left out; all are counted in the metrics as before.
  std::unique_ptr<core::LogThrottle> callback_refusal_log_;
  std::unique_ptr<core::LogThrottle> call_refusal_log_;
  std::unique_ptr<core::LogThrottle> http_refusal_log_;
  std::unique_ptr<CredentialsWatcher> watcher_;  // with a credentials file only
  std::string replica_id_;
  std::unique_ptr<core::RedisClient> redis_;  // with state.redis_url only
  std::unique_ptr<core::RedisSubmitKeys> shared_keys_;
  // Replicas: the poller hub reads JOB for the jobs this replica owns, under the deployment's
  // read budget; the feed fills hub_ (the front) from the shared logs.
  std::unique_ptr<ReplicaMetrics> replica_metrics_;
  std::unique_ptr<HubObserver> front_observer_;
  std::unique_ptr<HubObserver> poller_observer_;
  std::unique_ptr<core::RedisReadBudget> budget_;
  std::unique_ptr<core::WatchHub> poller_;
  std::unique_ptr<core::RedisWatchFeed> feed_;
  std::atomic<bool> feed_started_{false};
  std::unique_ptr<core::IdempotentSubmitter> submitter_;
  std::vector<std::thread> threads_;
  std::unique_ptr<CallbackSecret> callback_secret_;
  std::unique_ptr<HttpListener> callback_listener_;
  std::unique_ptr<HttpListener> metrics_listener_;
  std::string callback_url_;
  std::unique_ptr<JobGatewayService> service_;
  std::unique_ptr<HttpApi> http_api_;
  std::unique_ptr<HttpListener> http_listener_;
  std::unique_ptr<grpc::Server> server_;
  int grpc_port_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace jobgw::server
