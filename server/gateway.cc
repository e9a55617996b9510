#include "server/gateway.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/security/credentials.h"
#include "core/submit/memory_submit_store.h"
#include "core/submit/sqlite_submit_store.h"
#include "server/callback_endpoint.h"
#include "server/grpc_tls.h"
#include "server/http_tls.h"
#include "server/ip_log_pages.h"

namespace jobgw::server {
namespace {

constexpr const char* kServiceName = "jobgw.v1.JobGateway";

StartupError failed(std::string key, std::string message, int exit_code = 1) {
  return StartupError{std::move(key), std::move(message), exit_code};
}

// The host part of a URL for a bound address: IPv6 literals need brackets.
std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string address_of(const HttpListener* listener) {
  if (listener == nullptr) return "off";
  return url_host(listener->host()) + ":" + std::to_string(listener->port());
}

// Written to a temporary file and renamed, so a test polling for it never reads half of it.
bool write_ports_file(const std::string& path, int grpc_port, const HttpListener* metrics,
                      const HttpListener* callback, const HttpListener* http) {
  nlohmann::json ports;
  ports["grpc"] = grpc_port;
  ports["http"] = http ? nlohmann::json(http->port()) : nlohmann::json(nullptr);
  ports["metrics"] = metrics ? nlohmann::json(metrics->port()) : nlohmann::json(nullptr);
  ports["callback"] = callback ? nlohmann::json(callback->port()) : nlohmann::json(nullptr);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << ports.dump() << "\n";
    if (!out.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
  return !ec;
}

// A listener's HTTPS pair, when configured: "metrics" or "callback" names the keys.
struct HttpTlsKeys {
  const char* prefix;
  const std::string& cert_file;
  const std::string& key_file;
};

template <typename Handler>
core::Result<std::unique_ptr<HttpListener>> listen_http(
    boost::asio::io_context& io, const std::string& key, const std::string& spec, Handler handler,
    const HttpTlsKeys& tls, std::string* failed_key, HttpListenerOptions options = {}) {
  *failed_key = key;
  auto address = parse_listen_address(spec);
  if (!address) return address.error();
  if (!tls.cert_file.empty()) {
    TlsFiles files;
    files.cert_file = tls.cert_file;
    files.key_file = tls.key_file;
    files.cert_key = std::string(tls.prefix) + ".tls_cert_file";
    files.key_key = std::string(tls.prefix) + ".tls_key_file";
    auto context = HttpTlsContext::load(files);
    if (!context) {
      *failed_key = files.cert_key;
      return context.error();
    }
    options.tls = std::move(context.value());
  }
  return HttpListener::create(io, address.value().host, address.value().port, std::move(handler),
                              options);
}

// off, tls, or mtls (client certificates verified; "mtls_required" when they must be sent).
const char* grpc_tls_mode(const GatewayConfig& c) {
  if (c.grpc.tls.cert_file.empty()) return "off";
  if (c.grpc.tls.client_ca_file.empty()) return "tls";
  return c.grpc.tls.require_client_cert ? "mtls_required" : "mtls";
}

// A password mounted as a file (a Kubernetes Secret): its first line, without the line end.
core::Result<std::string> read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return core::Error::invalid_argument("cannot read " + path);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return core::Error::invalid_argument(path + " is empty");
  return line;
}

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]" ||
         host.rfind("127.", 0) == 0;
}

}  // namespace

Gateway::Gateway(GatewayConfig config) : config_(std::move(config)) {}

Gateway::~Gateway() { stop(std::chrono::milliseconds(0)); }

std::optional<StartupError> Gateway::start() {
  started_ = true;
  std::optional<StartupError> error = start_security();
  if (!error) error = open_state();
  if (!error) error = start_core();
  if (!error) error = start_http();
  if (!error) error = start_grpc();
  if (!error) error = start_http_api();
  if (!error && !config_.ports_file.empty() &&
      !write_ports_file(config_.ports_file, grpc_port_, metrics_listener(),
                        callback_listener_.get(), http_listener_.get())) {
    error = failed("ports_file", "cannot write " + config_.ports_file);
  }
  if (error) {
    spdlog::critical("event=startup_failed key={} error=\"{}\"", error->key, error->message);
    stop(std::chrono::milliseconds(0));
    return error;
  }
  log_started();
  return std::nullopt;
}

// Who may call and the audit trail (README "Security"), before anything listens, so a bad
// credentials file or audit path stops jobgw at once, naming the entry and field.
std::optional<StartupError> Gateway::start_security() {
  if (std::string problem = missing_auth_problem(config_); !problem.empty()) {
    return failed("auth.credentials_file", problem);
  }
  if (config_.auth.insecure_dev) {
    authorizer_ = Authorizer::insecure_dev();
    spdlog::warn(
        "event=insecure_dev detail=\"INSECURE DEV MODE: every call is allowed without a token, as "
        "caller anonymous; never run this way where anyone else can reach {}\"",
        config_.grpc.listen);
  } else {
    auto credentials = core::Credentials::load(config_.auth.credentials_file);
    if (!credentials) return failed("auth.credentials_file", credentials.error().message);
    spdlog::info("event=credentials_loaded path={} callers={}", config_.auth.credentials_file,
                 credentials.value().callers().size());
    authorizer_ = std::make_unique<Authorizer>(std::move(credentials.value()));
  }
  auto audit = core::AuditLog::open(config_.auth.audit_path);
  if (!audit) return failed("audit.path", audit.error().message);
  audit_ = std::move(audit.value());
  spdlog::info("event=audit_log where={}", audit_->where());
  return std::nullopt;
}

// The SQLite file at state.path, or memory only when it is empty; an unusable file stops jobgw,
// since running on would silently break request_id deduplication.
std::optional<StartupError> Gateway::open_state() {
  if (config_.state.path.empty()) {
    spdlog::warn(
        "event=state_in_memory detail=\"state.path is empty: request_ids and unfinished jobs "
        "are forgotten on restart\"");
    store_ = std::make_unique<core::MemorySubmitStore>();
  } else {
    auto opened = core::SqliteSubmitStore::open(config_.state.path);
    if (!opened) return failed("state.path", opened.error().message);
    store_ = std::move(opened.value());
  }
  auto run_number = store_->start_run();
  if (!run_number) return failed("state.path", run_number.error().message);
  run_number_ = run_number.value();
  spdlog::info("event=state_opened path={} run={}",
               config_.state.path.empty() ? "<memory>" : config_.state.path, run_number_);
  return std::nullopt;
}

// The JOB client, the hub and the submitter on the io threads; jobs submitted before a restart
// (or a crash) and not seen finished are watched again, so their final status, metrics and
// callbacks are not lost.
std::optional<StartupError> Gateway::start_core() {
  work_.emplace(boost::asio::make_work_guard(io_));
  core::JobClientConfig job_config = config_.job;
  scheduler_ = std::make_unique<core::AsioScheduler>(io_);
  // Every attempt tells whether JOB answers; a probe keeps that true when nothing else asks.
  reachability_ = core::JobReachability::create(
      *scheduler_, config_.job_reachability,
      [this, timeout = config_.service.job_call_timeout](std::function<void()> done) {
        if (!job_) return done();
        job_->probe([done = std::move(done)](core::Result<int>) { done(); },
                    std::chrono::steady_clock::now() + timeout);
      });
  job_config.http.on_attempt = [this](const core::AttemptRecord& r) {
    core_metrics_.job_attempt(r);
    reachability_->on_attempt(r);
  };
  auto job = core::JobClient::create(io_, std::move(job_config));
  if (!job) return failed("job", job.error().message, 2);
  job_ = std::move(job.value());
  source_ = std::make_unique<core::JobClientStatusSource>(*job_);
  core::WatchHubConfig watch_config = config_.watch;
  // Each run's sequence numbers start 2^32 above the last run's (room for 2^32 events per job
  // and run), so an after_seq from before a restart gets a fresh SNAPSHOT, never a wrong replay.
  watch_config.seq_base = run_number_ << 32;
  if (auto error = start_replication()) return error;
  core::WatchObserver* front_observer = &core_metrics_;
  if (front_observer_) front_observer = front_observer_.get();
  core::ReadBudget* budget = budget_.get();
  if (budget == nullptr) {
    bucket_ = core::TokenBucket::create(*scheduler_, config_.watch.reads_per_second,
                                        config_.watch.read_burst, config_.watch.read_order);
    budget = bucket_.get();
  }
  hub_ = std::make_unique<core::WatchHub>(*scheduler_, *source_, watch_config, front_observer,
                                          nullptr, budget_ ? nullptr : budget);
  if (auto error = start_feed()) return error;
  // Log follows read JOB like status polls do, under the same budget (the deployment's with
  // Redis), and learn hosts' statuses from the front hub.
  log_source_ = std::make_unique<core::JobClientLogSource>(*job_, config_.service.job_call_timeout);
  logs_ = std::make_unique<core::LogFollowHub>(*scheduler_, *log_source_, *hub_, *budget,
                                               config_.follow);
  metrics_.add_scrape_hook([this] {
    const auto stats = logs_->stats();
    metrics_.log_follow(stats.followers, stats.steps, stats.reads, stats.read_errors,
                        stats.held_bytes);
  });
  auto followers = [logs = logs_.get()](const core::Scope& scope, std::int64_t job) {
    return logs->followers_of(scope, job);
  };
  if (redis_) {
    RedisJobCatalogConfig catalog;
    catalog.prefix = config_.state.redis_key_prefix;
    catalog.replica_id = replica_id_;
    catalog.window = std::chrono::seconds(config_.state.idempotency_window_s);
    auto local = [hub = hub_.get(), followers] {
      std::map<std::string, std::size_t> counts;
      for (const auto& job : hub->list()) {
        counts[RedisJobCatalog::member(job.scope, job.job_instance_id)] =
            job.subscribers + followers(job.scope, job.job_instance_id);
      }
      return counts;
    };
    redis_catalog_ =
        std::make_unique<RedisJobCatalog>(*redis_, *scheduler_, std::move(catalog), local);
    catalog_ptr_ = redis_catalog_.get();
  } else {
    catalog_ = std::make_unique<LocalJobCatalog>(*hub_, followers);
    catalog_ptr_ = catalog_.get();
  }

  callback_refusal_log_ = std::make_unique<core::LogThrottle>(*scheduler_, "callback refusals");
  call_refusal_log_ = std::make_unique<core::LogThrottle>(*scheduler_, "refused calls");
  http_refusal_log_ = std::make_unique<core::LogThrottle>(*scheduler_, "refused HTTP requests");
  caller_limits_ = std::make_unique<core::CallerLimits>(*scheduler_, config_.caller_limits);
  if (!authorizer_->insecure()) {
    watcher_ =
        std::make_unique<CredentialsWatcher>(*authorizer_, config_.auth.credentials_file,
                                             *scheduler_, config_.auth.reload_interval, &metrics_);
    watcher_->start();
  }

  const std::chrono::milliseconds window = std::chrono::seconds(config_.state.idempotency_window_s);
  submitter_ =
      std::make_unique<core::IdempotentSubmitter>(*store_, *scheduler_, window, shared_keys_.get());
  auto ended = [submitter = submitter_.get()](const core::Scope& scope,
                                              std::int64_t job_instance_id,
                                              const std::optional<core::Error>& error) {
    submitter->watch_ended(scope, job_instance_id, error);
  };
  hub_->set_end_listener(ended);
  if (poller_) poller_->set_end_listener(ended);
  // jobgw stays SERVING while JOB is down (clients keep their streams and hear a notice; the
  // load balancer keeps the replica); JOB's own state has a health name, a gauge and the notice.
  reachability_->add_listener([this](const core::Reachability& state) {
    core_metrics_.set_job_up(state.up);
    hub_->set_job_reachability(state);
    if (poller_) poller_->set_job_reachability(state);
    set_job_health(state.up);
  });

  unsigned thread_count = config_.threads;
  if (thread_count == 0) thread_count = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < thread_count; ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        try {
          io_.run();
          return;
        } catch (const std::exception& e) {
          // Handlers must not throw; if one does, log it and keep the thread serving.
          spdlog::error("event=io_handler_exception error=\"{}\"", e.what());
        }
      }
    });
  }

  reachability_->start();
  if (feed_) {
    feed_->start();
    feed_started_ = true;
  }
  if (redis_catalog_) redis_catalog_->start();
  // Expire first, so a job recorded longer ago than the window is not watched again.
  submitter_->start_expiry(std::min<std::chrono::milliseconds>(window, std::chrono::hours(1)));
  auto jobs = submitter_->unfinished();
  if (!jobs) {
    spdlog::error("event=state_store_failed op=list_unfinished {}", jobs.error().describe());
  } else {
    for (const auto& job : jobs.value()) hub_->watch(job.scope, job.job_instance_id);
    metrics_.resumed_jobs(jobs.value().size());
    spdlog::info("event=resumed_jobs count={}", jobs.value().size());
  }
  return std::nullopt;
}

// JOB's callbacks and /metrics (one listener when both name the same address).
std::optional<StartupError> Gateway::start_http() {
  if (!config_.callback.http.listen.empty()) {
    // The key of the per-job callback tokens: callback.secret_file, else next to state.path,
    // else (state in memory only) a key for this run alone.
    std::string path = config_.callback.secret_file;
    if (path.empty() && !config_.state.path.empty()) path = config_.state.path + ".callback-key";
    if (path.empty()) {
      spdlog::warn(
          "event=callback_secret_in_memory detail=\"callbacks of jobs submitted before a "
          "restart will be refused; set callback.secret_file or state.path\"");
      callback_secret_ = std::make_unique<CallbackSecret>(CallbackSecret::ephemeral());
    } else {
      auto secret = CallbackSecret::load_or_create(path);
      if (!secret) return failed("callback.secret_file", secret.error().message);
      callback_secret_ = std::make_unique<CallbackSecret>(std::move(secret.value()));
    }
  }
  const bool shared_listener = !config_.callback.http.listen.empty() &&
                               config_.callback.http.listen == config_.metrics.listen;
  std::string key;
  if (!config_.callback.http.listen.empty()) {
    HttpListenerOptions callback_options;
    callback_options.refusal_log = http_refusal_log_.get();
    auto listener = listen_http(
        io_, "callback.listen", config_.callback.http.listen,
        make_http_routes({hub_.get(), &metrics_, /*serve_metrics=*/shared_listener,
                          callback_secret_.get(), job_health_text(), callback_refusal_log_.get()}),
        {"callback", config_.callback.http.tls_cert_file, config_.callback.http.tls_key_file}, &key,
        callback_options);
    if (!listener) return failed(key, listener.error().message);
    callback_listener_ = std::move(listener.value());
  }
  if (!config_.metrics.listen.empty() && !shared_listener) {
    HttpListenerOptions metrics_options;
    metrics_options.refusal_log = http_refusal_log_.get();
    auto listener =
        listen_http(io_, "metrics.listen", config_.metrics.listen,
                    make_http_routes({nullptr, &metrics_, true, nullptr, job_health_text()}),
                    {"metrics", config_.metrics.tls_cert_file, config_.metrics.tls_key_file}, &key,
                    metrics_options);
    if (!listener) return failed(key, listener.error().message);
    metrics_listener_ = std::move(listener.value());
  }
  callback_url_ = config_.callback.public_url;
  if (callback_url_.empty() && callback_listener_) {
    const char* scheme = config_.callback.http.tls_cert_file.empty() ? "http://" : "https://";
    callback_url_ = scheme + address_of(callback_listener_.get()) + std::string(kCallbackPath);
    if (callback_listener_->host() == "0.0.0.0" || callback_listener_->host() == "::") {
      spdlog::warn("event=callback_url_unroutable url={} hint=\"set callback.public_url\"",
                   callback_url_);
    }
  }
  return std::nullopt;
}

ServiceOptions Gateway::service_options() const {
  ServiceOptions options = config_.service;
  options.callback_url = callback_url_;
  if (!callback_url_.empty() && callback_secret_) {
    // Each submit's URL carries its own token; logs only ever show callback_url without it.
    options.callback_url_for_submit = [secret = callback_secret_.get(), url = callback_url_] {
      return secret->mint(url);
    };
  }
  options.log_page_max_bytes = log_page_limit(config_.grpc.max_send_message_bytes);
  options.authorizer = authorizer_.get();
  options.caller_limits = caller_limits_.get();
  options.audit = audit_.get();
  options.refusal_log = call_refusal_log_.get();
  options.catalog = catalog_ptr_;
  options.logs = logs_.get();
  options.follow_max_hosts = config_.follow.max_hosts;
  return options;
}

// The gRPC listener, TLS when tls.cert_file is set; unusable TLS files stop jobgw, since
// starting in plaintext instead would silently expose every token.
std::optional<StartupError> Gateway::start_grpc() {
  service_ = std::make_unique<JobGatewayService>(*job_, *hub_, &metrics_, service_options(),
                                                 submitter_.get());
  auto credentials = grpc_server_credentials(config_.grpc.tls);
  if (!credentials) return failed("tls", credentials.error().message);
  std::string host = config_.grpc.listen.substr(0, config_.grpc.listen.rfind(':'));
  if (config_.grpc.tls.cert_file.empty() && !is_loopback(host)) {
    spdlog::warn(
        "event=grpc_plaintext address={} detail=\"gRPC listens beyond loopback without TLS: "
        "tokens and scripts cross the network in clear; set tls.cert_file and tls.key_file\"",
        config_.grpc.listen);
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config_.grpc.listen, credentials.value(), &grpc_port_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.grpc.max_receive_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(config_.grpc.max_send_message_bytes));
  // gRPC's server deadline filter arms one timer per call, and its timer thread rescans every
  // timer far from due about once a second: 10,000 idle streams with deadlines cost more CPU
  // than the JOB reads they wait on. The caller's own gRPC ends the call at its deadline and
  // tells jobgw (RST_STREAM), which cancels it as it cancelled it before; unary calls bound
  // their JOB calls by the caller's deadline themselves (CallInput::job_deadline).
  builder.AddChannelArgument(GRPC_ARG_ENABLE_DEADLINE_CHECKS, 0);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || grpc_port_ == 0) {
    return failed("grpc.listen", "cannot listen on " + config_.grpc.listen);
  }
  if (auto* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(true);
    health->SetServingStatus(kServiceName, true);
  }
  grpc_serving_ = true;
  set_job_health(reachability_->state().up);
  return std::nullopt;
}

// /healthz stays 200 while JOB is down (jobgw must stay in the load balancer) and says so.
std::function<std::string()> Gateway::job_health_text() const {
  return [reach = reachability_] {
    const core::Reachability state = reach->state();
    if (!state.known) return std::string("job: unknown (no answer from JOB yet)\n");
    if (state.up) return std::string("job: reachable\n");
    return "job: unreachable since " + std::to_string(state.unreachable_since_ms) + " (" +
           state.last_error + ")\n";
  };
}

void Gateway::set_job_health(bool up) {
  std::lock_guard<std::mutex> lock(health_mu_);
  if (!grpc_serving_ || !server_) return;
  if (auto* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(kJobHealthName, up);
  }
}

// The HTTP/JSON + SSE face and the status page, over the same service as gRPC.
std::optional<StartupError> Gateway::start_http_api() {
  if (config_.http.http.listen.empty()) return std::nullopt;
  HttpApiOptions api;
  api.refusal_log = http_refusal_log_.get();
  api.cors_origins = parse_origins(config_.http.cors_origins);
  api.heartbeat = config_.http.heartbeat;
  api.metrics = &metrics_;
  api.health_detail = job_health_text();
  http_api_ = std::make_unique<HttpApi>(*service_, *scheduler_, std::move(api));
  HttpListenerOptions options;
  // JSON escapes can make a body several times its script; validation, not the listener's
  // limit, should be what refuses an oversized script_content, naming it.
  options.body_limit = 4 * config_.grpc.max_receive_message_bytes;
  options.max_connections = 4096;
  options.refusal_log = http_refusal_log_.get();
  options.own_answer = own_answer;
  std::string key;
  auto listener = listen_http(
      io_, "http.listen", config_.http.http.listen, http_api_->handler(),
      {"http", config_.http.http.tls_cert_file, config_.http.http.tls_key_file}, &key, options);
  if (!listener) return failed(key, listener.error().message);
  http_listener_ = std::move(listener.value());
  return std::nullopt;
}

const HttpListener* Gateway::metrics_listener() const {
  const bool shared = !config_.callback.http.listen.empty() &&
                      config_.callback.http.listen == config_.metrics.listen;
  return shared ? callback_listener_.get() : metrics_listener_.get();
}

int Gateway::metrics_port() const {
  const HttpListener* listener = metrics_listener();
  return listener != nullptr ? listener->port() : 0;
}

int Gateway::callback_port() const { return callback_listener_ ? callback_listener_->port() : 0; }

void Gateway::log_started() const {
  std::string grpc_host = config_.grpc.listen.substr(0, config_.grpc.listen.rfind(':'));
  spdlog::info(
      "event=started grpc={}:{} grpc_tls={} http={} metrics={} callback={} callback_url={} "
      "job_base_url={} api_mode={} app_code={} app_secret={} threads={}",
      grpc_host, grpc_port_, grpc_tls_mode(config_), address_of(http_listener_.get()),
      address_of(metrics_listener()), address_of(callback_listener_.get()),
      callback_url_.empty() ? "none" : CallbackSecret::without_query(callback_url_),
      config_.job.http.base_url, core::api_mode_name(config_.job.api.mode),
      config_.job.api.app_code.empty() ? "none" : config_.job.api.app_code,
      config_.job.api.app_secret.empty() ? "<unset>" : "<set>", threads_.size());
  spdlog::debug("event=config {}", config_.summary());
}

void Gateway::reload_credentials() {
  if (watcher_) {
    // Success and failure are logged (and counted) by the watcher.
    (void)watcher_->reload("sighup");
  } else {
    spdlog::info("event=sighup_ignored detail=\"insecure dev mode has no credentials to reload\"");
  }
}

void Gateway::stop(std::chrono::milliseconds grace) {
  if (!started_ || stopped_) return;
  stopped_ = true;
  if (reachability_) reachability_->stop();
  if (server_) {
    std::lock_guard<std::mutex> lock(health_mu_);
    grpc_serving_ = false;
    if (auto* health = server_->GetHealthCheckService()) {
      health->SetServingStatus(false);
      health->SetServingStatus(kServiceName, false);
      health->SetServingStatus(kJobHealthName, false);
    }
  }
  // Streams first: they end UNAVAILABLE and clients reconnect (with after_seq) elsewhere, instead
  // of holding Shutdown for the whole grace period.
  if (hub_) {
    core::Error reason;
    reason.kind = core::ErrorKind::kCancelled;
    reason.message = "jobgw is shutting down";
    hub_->shutdown(reason);
  }
  if (logs_) {
    core::Error reason;
    reason.kind = core::ErrorKind::kCancelled;
    reason.message = "jobgw is shutting down";
    logs_->shutdown(reason);
  }
  // Leases go back now, so the other replicas adopt this one's jobs at their next scan.
  feed_started_ = false;
  if (feed_) feed_->stop(std::chrono::seconds(1));
  if (poller_) {
    core::Error reason;
    reason.kind = core::ErrorKind::kCancelled;
    reason.message = "jobgw is shutting down";
    poller_->shutdown(reason);
  }
  if (server_) {
    // Unary RPCs in flight get the grace period to finish. gRPC 1.51's Shutdown(deadline) waits
    // out its whole deadline while any client keeps an idle connection open, so jobgw waits for
    // its own in-flight count instead and then shuts down at once, cancelling whatever is left.
    auto margin = std::min<std::chrono::milliseconds>(std::chrono::seconds(2), grace / 4);
    auto drain_until = std::chrono::steady_clock::now() + (grace - margin);
    while (service_->in_flight() > 0 && std::chrono::steady_clock::now() < drain_until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    spdlog::info("event=drained in_flight={}", service_->in_flight());
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    spdlog::debug("event=grpc_stopped");
  }
  stop_threads();
  server_.reset();
}

std::optional<StartupError> Gateway::start_replication() {
  replica_id_ = config_.state.replica_id;
  if (replica_id_.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "jobgw");
    replica_id_ = std::string(host) + "-" + std::to_string(::getpid());
  }
  if (config_.state.redis_url.empty()) return std::nullopt;
  core::RedisClientConfig redis;
  // load_config checked the URL.
  redis.endpoint = core::parse_redis_url(config_.state.redis_url).value();
  if (!config_.state.redis_password_file.empty()) {
    auto password = read_secret_file(config_.state.redis_password_file);
    if (!password) return failed("state.redis_password_file", password.error().message);
    redis.endpoint.password = password.value();
  }
  redis.ca_file = config_.state.redis_ca_file;
  redis.client_name = "jobgw:" + replica_id_;
  redis.on_state = [this](bool up, const std::string&) {
    metrics_.redis_up(up);
    if (up) register_unfinished();
  };
  metrics_.redis_up(false);
  auto client = core::RedisClient::create(io_, std::move(redis));
  if (!client) return failed("state.redis_ca_file", client.error().message);
  redis_ = std::move(client.value());

  core::RedisSubmitKeysConfig keys;
  keys.prefix = config_.state.redis_key_prefix;
  keys.replica_id = replica_id_;
  keys.window = std::chrono::seconds(config_.state.idempotency_window_s);
  // Long enough for a submit to get JOB's answer (two calls at most, each within the call
  // timeout), short enough that a replica killed mid-submit blocks its request_id briefly.
  keys.claim_ttl = 2 * config_.service.job_call_timeout + std::chrono::seconds(5);
  shared_keys_ = std::make_unique<core::RedisSubmitKeys>(*redis_, *scheduler_, keys);

  replica_metrics_ = std::make_unique<ReplicaMetrics>(core_metrics_);
  front_observer_ = std::make_unique<HubObserver>(core_metrics_, HubObserver::Role::kFront);
  poller_observer_ = std::make_unique<HubObserver>(core_metrics_, HubObserver::Role::kPoller);
  core::RedisReadBudgetConfig budget;
  budget.key = config_.state.redis_key_prefix + ":budget";
  budget.rate = config_.watch.reads_per_second;
  budget.burst = config_.watch.read_burst;
  budget.fallback_replicas = config_.state.replicas;
  budget.order = config_.watch.read_order;
  budget_ = std::make_unique<core::RedisReadBudget>(*redis_, *scheduler_, budget);
  poller_ = std::make_unique<core::WatchHub>(*scheduler_, *source_, config_.watch,
                                             poller_observer_.get(), nullptr, budget_.get());
  spdlog::info("event=replication redis=\"{}\" prefix={} replica={}", redis_->endpoint().redacted(),
               config_.state.redis_key_prefix, replica_id_);
  return std::nullopt;
}

// Redis (back, or first reached): every job this replica submitted and has not seen finish goes
// into the registry again, so a Redis that lost its data loses no unfinished job.
void Gateway::register_unfinished() {
  if (!feed_started_.load()) return;
  auto jobs = submitter_->unfinished();
  if (!jobs) return;
  for (const auto& job : jobs.value()) feed_->submitted(job.scope, job.job_instance_id);
  spdlog::info("event=jobs_registered count={}", jobs.value().size());
}

std::optional<StartupError> Gateway::start_feed() {
  if (!redis_) return std::nullopt;
  core::RedisClientConfig subscriber;
  subscriber.endpoint = redis_->endpoint();
  subscriber.ca_file = config_.state.redis_ca_file;
  subscriber.client_name = "jobgw:" + replica_id_ + ":feed";
  core::RedisWatchFeedConfig feed;
  feed.prefix = config_.state.redis_key_prefix;
  feed.replica_id = replica_id_;
  feed.history_limit = config_.watch.history_limit;
  feed.finished_retention = config_.watch.finished_retention;
  feed.registry_window = std::chrono::seconds(config_.state.idempotency_window_s);
  auto created = core::RedisWatchFeed::create(io_, *redis_, std::move(subscriber), *scheduler_,
                                              *hub_, *poller_, feed, replica_metrics_.get());
  if (!created) return failed("state.redis_ca_file", created.error().message);
  feed_ = std::move(created.value());
  hub_->set_feed(feed_.get());
  return std::nullopt;
}

void Gateway::stop_threads() {
  // Its timer lives on the io_context: cancel it while the context still exists.
  if (watcher_) watcher_->stop();
  if (reachability_) reachability_->stop();
  if (redis_catalog_) redis_catalog_->stop();
  if (http_listener_) http_listener_->stop();
  if (callback_listener_) callback_listener_->stop();
  if (metrics_listener_) metrics_listener_->stop();
  if (job_) job_->shutdown();
  if (redis_) redis_->shutdown();
  work_.reset();
  io_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace jobgw::server
