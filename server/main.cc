// jobgw: the gRPC gateway to JOB. Wiring only; every part lives in jobgw_server_lib / jobgw_core.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/audit_log.h"
#include "core/caller_limits.h"
#include "core/credentials.h"
#include "core/idempotent_submitter.h"
#include "core/job_client.h"
#include "core/job_client_status_source.h"
#include "core/memory_submit_store.h"
#include "core/metrics.h"
#include "core/scheduler.h"
#include "core/sqlite_submit_store.h"
#include "core/watch_hub.h"
#include "server/authorizer.h"
#include "server/callback_endpoint.h"
#include "server/callback_secret.h"
#include "server/config.h"
#include "server/credentials_watcher.h"
#include "server/grpc_tls.h"
#include "server/http_listener.h"
#include "server/http_tls.h"
#include "server/ip_log_pages.h"
#include "server/job_gateway_service.h"
#include "server/server_metrics.h"

namespace {

using jobgw::server::GatewayConfig;
using jobgw::server::HttpListener;

constexpr const char* kServiceName = "jobgw.v1.JobGateway";

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
                      const HttpListener* callback) {
  nlohmann::json ports;
  ports["grpc"] = grpc_port;
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

jobgw::core::JobClientConfig job_client_config(const GatewayConfig& c, jobgw::core::Metrics& m) {
  jobgw::core::JobClientConfig jc;
  // load_config already validated the mode.
  auto mode = jobgw::core::parse_api_mode(c.job_api_mode);
  jc.api.mode = mode ? mode.value() : jobgw::core::ApiMode::kApigw;
  jc.api.app_code = c.job_app_code;
  jc.api.app_secret = c.job_app_secret;
  jc.api.default_operator = c.job_default_operator;
  jc.api.default_account_alias = c.job_default_account_alias;
  jc.http.base_url = c.job_base_url;
  jc.http.max_connections = c.job_max_connections;
  jc.http.connect_timeout = c.job_connect_timeout;
  jc.http.request_timeout = c.job_request_timeout;
  jc.http.max_attempts = c.job_max_attempts;
  jc.http.ca_file = c.job_ca_file;
  jc.http.insecure_skip_verify = c.job_insecure_skip_verify;
  jc.http.on_attempt = [&m](const jobgw::core::AttemptRecord& r) { m.job_attempt(r); };
  return jc;
}

jobgw::core::WatchHubConfig hub_config(const GatewayConfig& c) {
  jobgw::core::WatchHubConfig h;
  h.poll_floor = c.watch_poll_floor;
  h.poll_ceiling = c.watch_poll_ceiling;
  h.poll_growth = c.watch_poll_growth;
  h.poll_young_for = c.watch_poll_young_for;
  h.poll_jitter = c.watch_poll_jitter;
  h.reads_per_second = c.watch_reads_per_second;
  h.read_burst = c.watch_read_burst;
  h.give_up_after = c.watch_give_up_after;
  h.history_limit = c.watch_history_limit;
  h.subscriber_queue_limit = c.watch_subscriber_queue_limit;
  h.finished_retention = c.watch_finished_retention;
  return h;
}

// A listener's HTTPS pair, when configured: "metrics" or "callback" names the keys.
struct HttpTlsKeys {
  const char* prefix;
  const std::string& cert_file;
  const std::string& key_file;
};

std::unique_ptr<HttpListener> listen_http(boost::asio::io_context& io, const std::string& key,
                                          const std::string& spec,
                                          jobgw::server::RouteTargets routes,
                                          const HttpTlsKeys& tls) {
  auto address = jobgw::server::parse_listen_address(spec);
  if (!address) {
    spdlog::critical("event=startup_failed key={} error=\"{}\"", key, address.error().message);
    return nullptr;
  }
  jobgw::server::HttpListenerOptions options;
  if (!tls.cert_file.empty()) {
    jobgw::server::TlsFiles files;
    files.cert_file = tls.cert_file;
    files.key_file = tls.key_file;
    files.cert_key = std::string(tls.prefix) + ".tls_cert_file";
    files.key_key = std::string(tls.prefix) + ".tls_key_file";
    auto context = jobgw::server::HttpTlsContext::load(files);
    if (!context) {
      spdlog::critical("event=startup_failed key={} error=\"{}\"", files.cert_key,
                       context.error().message);
      return nullptr;
    }
    options.tls = std::move(context.value());
  }
  auto listener = HttpListener::create(io, address.value().host, address.value().port,
                                       jobgw::server::make_http_routes(routes), options);
  if (!listener) {
    spdlog::critical("event=startup_failed key={} error=\"{}\"", key, listener.error().message);
    return nullptr;
  }
  return std::move(listener.value());
}

// off, tls, or mtls (client certificates verified; "mtls_required" when they must be sent).
const char* grpc_tls_mode(const GatewayConfig& c) {
  if (c.tls_cert_file.empty()) return "off";
  if (c.tls_client_ca_file.empty()) return "tls";
  return c.tls_require_client_cert ? "mtls_required" : "mtls";
}

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]" ||
         host.rfind("127.", 0) == 0;
}

// The gRPC listener's credentials (TLS when tls.cert_file is set), or null (logged) when the
// files cannot be used: starting in plaintext instead would silently expose every token.
std::shared_ptr<grpc::ServerCredentials> grpc_credentials(const GatewayConfig& c) {
  jobgw::server::GrpcTlsOptions tls;
  tls.cert_file = c.tls_cert_file;
  tls.key_file = c.tls_key_file;
  tls.client_ca_file = c.tls_client_ca_file;
  tls.require_client_cert = c.tls_require_client_cert;
  tls.reload_interval_s = static_cast<unsigned>(c.tls_reload_interval_s);
  auto credentials = jobgw::server::grpc_server_credentials(tls);
  if (!credentials) {
    spdlog::critical("event=startup_failed key=tls error=\"{}\"", credentials.error().message);
    return nullptr;
  }
  std::string host = c.grpc_listen.substr(0, c.grpc_listen.rfind(':'));
  if (c.tls_cert_file.empty() && !is_loopback(host)) {
    spdlog::warn(
        "event=grpc_plaintext address={} detail=\"gRPC listens beyond loopback without TLS: "
        "tokens and scripts cross the network in clear; set tls.cert_file and tls.key_file\"",
        c.grpc_listen);
  }
  return std::move(credentials.value());
}

// The key of the per-job callback tokens: callback.secret_file, else next to state.path, else
// (state in memory only) a key for this run alone. Null (logged) when the file is unusable.
std::unique_ptr<jobgw::server::CallbackSecret> open_callback_secret(const GatewayConfig& c) {
  using jobgw::server::CallbackSecret;
  std::string path = c.callback_secret_file;
  if (path.empty() && !c.state_path.empty()) path = c.state_path + ".callback-key";
  if (path.empty()) {
    spdlog::warn(
        "event=callback_secret_in_memory detail=\"callbacks of jobs submitted before a restart "
        "will be refused; set callback.secret_file or state.path\"");
    return std::make_unique<CallbackSecret>(CallbackSecret::ephemeral());
  }
  auto secret = CallbackSecret::load_or_create(path);
  if (!secret) {
    spdlog::critical("event=startup_failed key=callback.secret_file error=\"{}\"",
                     secret.error().message);
    return nullptr;
  }
  return std::make_unique<CallbackSecret>(std::move(secret.value()));
}

// The SQLite file at state.path, or memory only when it is empty; null (logged) when the file
// cannot be used, since running on would silently break request_id deduplication.
std::unique_ptr<jobgw::core::SubmitStore> open_submit_store(const GatewayConfig& c) {
  if (c.state_path.empty()) {
    spdlog::warn(
        "event=state_in_memory detail=\"state.path is empty: request_ids and unfinished jobs "
        "are forgotten on restart\"");
    return std::make_unique<jobgw::core::MemorySubmitStore>();
  }
  auto opened = jobgw::core::SqliteSubmitStore::open(c.state_path);
  if (!opened) {
    spdlog::critical("event=startup_failed key=state.path error=\"{}\"", opened.error().message);
    return nullptr;
  }
  return std::move(opened.value());
}

// Jobs submitted before a restart (or a crash) and not seen finished: watch them again so
// their final status, metrics and callbacks are not lost.
void resume_unfinished(jobgw::core::IdempotentSubmitter& submitter, jobgw::core::WatchHub& hub,
                       jobgw::server::ServerMetrics& metrics) {
  auto jobs = submitter.unfinished();
  if (!jobs) {
    spdlog::error("event=state_store_failed op=list_unfinished {}", jobs.error().describe());
    return;
  }
  for (const auto& job : jobs.value()) hub.watch(job.scope, job.job_instance_id);
  metrics.resumed_jobs(jobs.value().size());
  spdlog::info("event=resumed_jobs count={}", jobs.value().size());
}

// Who may call, how much, and the audit trail (README "Security"). Built before anything listens,
// so a bad credentials file or audit path stops jobgw at once, naming the entry and field.
struct Security {
  std::unique_ptr<jobgw::server::Authorizer> authorizer;
  std::unique_ptr<jobgw::core::AuditLog> audit;
  std::unique_ptr<jobgw::server::CredentialsWatcher> watcher;  // with a credentials file only
  std::unique_ptr<jobgw::core::CallerLimits> caller_limits;
};

std::optional<Security> start_security(const GatewayConfig& c) {
  Security s;
  if (std::string problem = jobgw::server::missing_auth_problem(c); !problem.empty()) {
    spdlog::critical("event=startup_failed key=auth.credentials_file error=\"{}\"", problem);
    return std::nullopt;
  }
  if (c.auth_insecure_dev) {
    s.authorizer = jobgw::server::Authorizer::insecure_dev();
    spdlog::warn(
        "event=insecure_dev detail=\"INSECURE DEV MODE: every call is allowed without a token, as "
        "caller anonymous; never run this way where anyone else can reach {}\"",
        c.grpc_listen);
  } else {
    auto credentials = jobgw::core::Credentials::load(c.auth_credentials_file);
    if (!credentials) {
      spdlog::critical("event=startup_failed key=auth.credentials_file error=\"{}\"",
                       credentials.error().message);
      return std::nullopt;
    }
    spdlog::info("event=credentials_loaded path={} callers={}", c.auth_credentials_file,
                 credentials.value().callers().size());
    s.authorizer = std::make_unique<jobgw::server::Authorizer>(std::move(credentials.value()));
  }
  auto audit = jobgw::core::AuditLog::open(c.audit_path);
  if (!audit) {
    spdlog::critical("event=startup_failed key=audit.path error=\"{}\"", audit.error().message);
    return std::nullopt;
  }
  s.audit = std::move(audit.value());
  spdlog::info("event=audit_log where={}", s.audit->where());
  return s;
}

// The credentials file watch (timer) and the per-caller limits (clock) use the io_context's
// scheduler.
void start_security_timers(Security& s, const GatewayConfig& c, jobgw::core::Scheduler& scheduler,
                           jobgw::server::ServerMetrics& metrics) {
  jobgw::core::CallerLimitsConfig limits;
  limits.submits_per_second = c.limits_caller_submits_per_second;
  limits.submit_burst = c.limits_caller_submit_burst;
  limits.max_streams = c.limits_caller_max_streams;
  s.caller_limits = std::make_unique<jobgw::core::CallerLimits>(scheduler, limits);
  if (!s.authorizer->insecure()) {
    s.watcher = std::make_unique<jobgw::server::CredentialsWatcher>(
        *s.authorizer, c.auth_credentials_file, scheduler, c.auth_reload_interval, &metrics);
    s.watcher->start();
  }
}

void on_sighup(Security& s) {
  if (s.watcher) {
    // Success and failure are logged (and counted) by the watcher.
    (void)s.watcher->reload("sighup");
  } else {
    spdlog::info("event=sighup_ignored detail=\"insecure dev mode has no credentials to reload\"");
  }
}

// After the first signal: a second one, or a shutdown stuck well past its grace period, ends the
// process at once rather than leaving an orchestrator waiting on a wedged gateway.
void start_shutdown_watchdog(sigset_t signals, std::chrono::milliseconds grace) {
  std::thread([signals, grace] {
    auto limit = grace + std::chrono::seconds(5);
    auto deadline = std::chrono::steady_clock::now() + limit;
    int sig = -1;
    // EINTR is no signal of ours: ptrace (debuggers, LeakSanitizer's exit-time check) interrupts
    // the wait, and treating it as a timeout forced a clean shutdown to exit 1, logging through
    // a logger static destruction had already freed (ASan: heap-use-after-free in jobgw).
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      timespec wait{static_cast<time_t>(left.count() / 1000),
                    static_cast<long>((left.count() % 1000) * 1000000)};
      sig = ::sigtimedwait(&signals, nullptr, &wait);
      if (sig > 0 || errno != EINTR) break;
    }
    if (sig > 0) {
      spdlog::warn("event=shutdown_forced reason=second_signal signal={}", sig);
    } else {
      spdlog::error("event=shutdown_forced reason=grace_exceeded limit_ms={}", limit.count());
    }
    spdlog::default_logger()->flush();
    std::_Exit(1);
  }).detach();
}

int run(const GatewayConfig& config) {
  // Signals are taken by sigwait on the main thread; every thread started below inherits the
  // mask, so no io or gRPC thread is ever interrupted by them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigset_t with_reload = signals;
  sigaddset(&with_reload, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &with_reload, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  jobgw::core::Metrics core_metrics;
  jobgw::server::ServerMetrics metrics(core_metrics);
  std::optional<Security> security = start_security(config);
  if (!security) return 1;
  std::unique_ptr<jobgw::core::SubmitStore> store = open_submit_store(config);
  if (!store) return 1;
  auto run_number = store->start_run();
  if (!run_number) {
    spdlog::critical("event=startup_failed key=state.path error=\"{}\"",
                     run_number.error().message);
    return 1;
  }
  spdlog::info("event=state_opened path={} run={}",
               config.state_path.empty() ? "<memory>" : config.state_path, run_number.value());
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);

  auto job = jobgw::core::JobClient::create(io, job_client_config(config, core_metrics));
  if (!job) {
    spdlog::critical("event=startup_failed key=job error=\"{}\"", job.error().message);
    return 2;
  }
  jobgw::core::JobClient& job_client = *job.value();
  jobgw::core::AsioScheduler scheduler(io);
  jobgw::core::JobClientStatusSource source(job_client);
  jobgw::core::WatchHubConfig watch_config = hub_config(config);
  // Each run's sequence numbers start 2^32 above the last run's (room for 2^32 events per job
  // and run), so an after_seq from before a restart gets a fresh SNAPSHOT, never a wrong replay.
  watch_config.seq_base = run_number.value() << 32;
  jobgw::core::WatchHub hub(scheduler, source, watch_config, &core_metrics);
  start_security_timers(*security, config, scheduler, metrics);
  const std::chrono::milliseconds window = std::chrono::seconds(config.idempotency_window_s);
  jobgw::core::IdempotentSubmitter submitter(*store, scheduler, window);
  hub.set_end_listener([&submitter](const jobgw::core::Scope& scope, std::int64_t job_instance_id,
                                    const std::optional<jobgw::core::Error>& error) {
    submitter.watch_ended(scope, job_instance_id, error);
  });

  unsigned thread_count = config.threads;
  if (thread_count == 0) thread_count = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < thread_count; ++i) {
    threads.emplace_back([&io] {
      for (;;) {
        try {
          io.run();
          return;
        } catch (const std::exception& e) {
          // Handlers must not throw; if one does, log it and keep the thread serving.
          spdlog::error("event=io_handler_exception error=\"{}\"", e.what());
        }
      }
    });
  }

  // Expire first, so a job recorded longer ago than the window is not watched again.
  submitter.start_expiry(std::min<std::chrono::milliseconds>(window, std::chrono::hours(1)));
  resume_unfinished(submitter, hub, metrics);

  std::unique_ptr<HttpListener> callback_listener;
  std::unique_ptr<HttpListener> metrics_listener;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<jobgw::server::JobGatewayService> service;

  // Tears down whatever was started, in dependency order; used on failure and on shutdown.
  auto stop_everything = [&] {
    // Its timer lives on the io_context: cancel it while the context still exists.
    if (security->watcher) security->watcher->stop();
    if (callback_listener) callback_listener->stop();
    if (metrics_listener) metrics_listener->stop();
    job_client.shutdown();
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
    threads.clear();
  };

  std::unique_ptr<jobgw::server::CallbackSecret> callback_secret;
  if (!config.callback_listen.empty()) {
    callback_secret = open_callback_secret(config);
    if (!callback_secret) {
      hub.shutdown(jobgw::core::Error::internal("startup failed"));
      stop_everything();
      return 1;
    }
  }
  bool shared_listener =
      !config.callback_listen.empty() && config.callback_listen == config.metrics_listen;
  if (!config.callback_listen.empty()) {
    callback_listener =
        listen_http(io, "callback.listen", config.callback_listen,
                    {&hub, &metrics, /*serve_metrics=*/shared_listener, callback_secret.get()},
                    {"callback", config.callback_tls_cert_file, config.callback_tls_key_file});
    if (!callback_listener) {
      hub.shutdown(jobgw::core::Error::internal("startup failed"));
      stop_everything();
      return 1;
    }
  }
  if (!config.metrics_listen.empty() && !shared_listener) {
    metrics_listener =
        listen_http(io, "metrics.listen", config.metrics_listen, {nullptr, &metrics, true},
                    {"metrics", config.metrics_tls_cert_file, config.metrics_tls_key_file});
    if (!metrics_listener) {
      hub.shutdown(jobgw::core::Error::internal("startup failed"));
      stop_everything();
      return 1;
    }
  }
  const HttpListener* metrics_at =
      shared_listener ? callback_listener.get() : metrics_listener.get();

  std::string callback_url = config.callback_public_url;
  if (callback_url.empty() && callback_listener) {
    const char* scheme = config.callback_tls_cert_file.empty() ? "http://" : "https://";
    callback_url =
        scheme + address_of(callback_listener.get()) + std::string(jobgw::server::kCallbackPath);
    if (callback_listener->host() == "0.0.0.0" || callback_listener->host() == "::") {
      spdlog::warn("event=callback_url_unroutable url={} hint=\"set callback.public_url\"",
                   callback_url);
    }
  }

  jobgw::server::ServiceOptions options;
  options.max_script_bytes = config.limits_max_script_bytes;
  options.max_param_bytes = config.limits_max_param_bytes;
  options.callback_url = callback_url;
  if (!callback_url.empty() && callback_secret) {
    // Each submit's URL carries its own token; logs only ever show callback_url without it.
    options.callback_url_for_submit = [secret = callback_secret.get(), callback_url] {
      return secret->mint(callback_url);
    };
  }
  options.job_call_timeout = config.job_call_timeout;
  options.status_fresh_for = config.watch_status_fresh_for;
  options.admission.max_streams = config.limits_max_streams;
  options.admission.max_inflight_job_calls = config.limits_max_inflight_job_calls;
  options.log_page_hosts = config.logs_page_hosts;
  options.log_page_max_bytes = jobgw::server::log_page_limit(config.grpc_max_send_message_bytes);
  options.max_targets = config.limits_max_targets;
  options.authorizer = security->authorizer.get();
  options.caller_limits = security->caller_limits.get();
  options.audit = security->audit.get();
  service = std::make_unique<jobgw::server::JobGatewayService>(job_client, hub, &metrics, options,
                                                               &submitter);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  auto grpc_creds = grpc_credentials(config);
  if (!grpc_creds) {
    hub.shutdown(jobgw::core::Error::internal("startup failed"));
    stop_everything();
    return 1;
  }
  builder.AddListeningPort(config.grpc_listen, grpc_creds, &grpc_port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config.grpc_max_receive_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(config.grpc_max_send_message_bytes));
  builder.RegisterService(service.get());
  server = builder.BuildAndStart();
  if (!server || grpc_port == 0) {
    spdlog::critical("event=startup_failed key=grpc.listen address={} error=\"cannot listen\"",
                     config.grpc_listen);
    hub.shutdown(jobgw::core::Error::internal("startup failed"));
    if (server) server->Shutdown();
    stop_everything();
    return 1;
  }
  if (auto* health = server->GetHealthCheckService()) {
    health->SetServingStatus(true);
    health->SetServingStatus(kServiceName, true);
  }

  if (!config.ports_file.empty() &&
      !write_ports_file(config.ports_file, grpc_port, metrics_at, callback_listener.get())) {
    spdlog::critical("event=startup_failed key=ports_file path={} error=\"cannot write\"",
                     config.ports_file);
    hub.shutdown(jobgw::core::Error::internal("startup failed"));
    server->Shutdown();
    stop_everything();
    return 1;
  }

  std::string grpc_host = config.grpc_listen.substr(0, config.grpc_listen.rfind(':'));
  spdlog::info(
      "event=started grpc={}:{} grpc_tls={} metrics={} callback={} callback_url={} "
      "job_base_url={} api_mode={} app_code={} app_secret={} threads={}",
      grpc_host, grpc_port, grpc_tls_mode(config), address_of(metrics_at),
      address_of(callback_listener.get()),
      callback_url.empty() ? "none" : jobgw::server::CallbackSecret::without_query(callback_url),
      config.job_base_url, config.job_api_mode,
      config.job_app_code.empty() ? "none" : config.job_app_code,
      config.job_app_secret.empty() ? "<unset>" : "<set>", thread_count);
  spdlog::debug("event=config {}", config.summary());

  int sig = 0;
  for (;;) {
    if (::sigwait(&with_reload, &sig) != 0) continue;
    if (sig != SIGHUP) break;
    on_sighup(*security);
  }
  auto grace = config.shutdown_grace;
  spdlog::info("event=shutting_down signal={} grace_ms={}", sig, grace.count());
  start_shutdown_watchdog(signals, grace);

  if (auto* health = server->GetHealthCheckService()) {
    health->SetServingStatus(false);
    health->SetServingStatus(kServiceName, false);
  }
  // Streams first: they end UNAVAILABLE and clients reconnect (with after_seq) elsewhere, instead
  // of holding Shutdown for the whole grace period.
  jobgw::core::Error reason;
  reason.kind = jobgw::core::ErrorKind::kCancelled;
  reason.message = "jobgw is shutting down";
  hub.shutdown(reason);
  // Unary RPCs in flight get the grace period to finish. gRPC 1.51's Shutdown(deadline) waits
  // out its whole deadline while any client keeps an idle connection open, so jobgw waits for
  // its own in-flight count instead and then shuts down at once, cancelling whatever is left.
  auto margin = std::min<std::chrono::milliseconds>(std::chrono::seconds(2), grace / 4);
  auto drain_until = std::chrono::steady_clock::now() + (grace - margin);
  while (service->in_flight() > 0 && std::chrono::steady_clock::now() < drain_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  spdlog::info("event=drained in_flight={}", service->in_flight());
  server->Shutdown(std::chrono::system_clock::now());
  server->Wait();
  spdlog::debug("event=grpc_stopped");
  stop_everything();
  server.reset();
  spdlog::info("event=stopped");
  return 0;
}

// glibc raises its mmap threshold to the size of each large block freed, after which multi-MiB
// buffers (GetIpLogs pages, 1000-host status answers) come from the per-thread arenas and stay
// there: bench scenario 6 saw jobgw's RSS grow 13 MiB per 1000-host job (16 MiB of logs) and
// never come back. Fixed thresholds keep large blocks mmapped, so they return to the system.
void keep_large_blocks_returnable() {
  constexpr int kThreshold = 256 * 1024;
  mallopt(M_MMAP_THRESHOLD, kThreshold);
  mallopt(M_TRIM_THRESHOLD, kThreshold);
}

}  // namespace

int main(int argc, char** argv) {
  keep_large_blocks_returnable();
  std::vector<std::string> args(argv + 1, argv + argc);
  auto loaded = jobgw::server::load_config(args, jobgw::server::process_environment());
  if (!loaded) {
    std::cerr << "jobgw: " << loaded.error().message << " (see jobgw --help)\n";
    return 2;
  }
  if (loaded.value().help) {
    std::cout << jobgw::server::config_help();
    return 0;
  }
  const GatewayConfig& config = loaded.value().config;

  // stdout stays free for --help; logs are one line per event on stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("jobgw"));
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  for (const auto& warning : loaded.value().warnings) {
    spdlog::warn("event=config_warning detail=\"{}\"", warning);
  }
  return run(config);
}
