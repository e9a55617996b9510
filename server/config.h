#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/job/job_client.h"
#include "core/job/job_reachability.h"
#include "core/logs/log_follow_hub.h"
#include "core/security/caller_limits.h"
#include "core/watch/watch_hub.h"
#include "server/admission.h"
#include "server/grpc_tls.h"
#include "server/job_gateway_service.h"
#include "server/request_validation.h"

namespace jobgw::server {

// What a request may carry besides script_content and script_param (targets, file sources,
// names): grpc.max_receive_message_bytes must exceed the two field limits by at least this, so
// validation, not gRPC's message limit, refuses an oversized field and names it.
constexpr std::size_t kRequestHeadroomBytes = 1024 * 1024;

// The gRPC listener (keys grpc.* and, for its TLS, tls.*).
struct GrpcListenerConfig {
  std::string listen = "127.0.0.1:50051";
  std::size_t max_receive_message_bytes = 4 * 1024 * 1024;
  // gRPC clients refuse messages over 4 MiB unless told otherwise; paged GetIpLogs stays within.
  std::size_t max_send_message_bytes = 4 * 1024 * 1024;
  // A certificate and key turn TLS on; a client CA adds client-certificate verification (mTLS),
  // required only with require_client_cert.
  GrpcTlsOptions tls;
};

// An HTTP listener: empty listen is off; a certificate and key turn on HTTPS.
struct HttpListenerConfig {
  std::string listen;
  std::string tls_cert_file;
  std::string tls_key_file;
};

// The HTTP/JSON + Server-Sent Events face and the status page (keys http.*).
struct HttpApiConfig {
  HttpListenerConfig http;  // listen empty: off
  // Origins (scheme://host[:port]) whose pages may call the face (CORS), comma-separated; empty:
  // no CORS headers, so browsers keep other sites' pages out.
  std::string cors_origins;
  // A comment line on idle event streams this often, so proxies do not close them.
  std::chrono::milliseconds heartbeat{15000};
};

// JOB's end-of-job callbacks (keys callback.*).
struct CallbackConfig {
  HttpListenerConfig http;
  // The URL given to JOB; empty: derived from the bound listener.
  std::string public_url;
  // HMAC key of the per-job callback tokens; empty: state.path + ".callback-key" (or a key in
  // memory only when state.path is empty too).
  std::string secret_file;
};

// Idempotency keys and unfinished jobs (keys state.*, idempotency.*).
struct StateConfig {
  // Empty keeps them in memory only (lost on restart). With redis_url each replica still keeps
  // its own file: what it held comes back into Redis after Redis lost its data.
  std::string path = "jobgw-state.db";
  std::uint64_t idempotency_window_s = 86400;
  // Replicas that act as one gateway share state here (README "Replicas"); empty: one replica.
  std::string redis_url;
  // The password, from a file (a mounted Secret) rather than the URL; wins over the URL's.
  std::string redis_password_file;
  // Extra PEM CA bundle for rediss:// (the system trust store is always used).
  std::string redis_ca_file;
  // Every key this gateway writes starts with it, so several gateways can share one Redis.
  std::string redis_key_prefix = "jobgw";
  // This replica's name in Redis (claims, leases); empty: host name and process id.
  std::string replica_id;
  // How many replicas share the read budget: each takes this share of it while Redis cannot be
  // asked (with Redis the budget is one for the deployment).
  std::size_t replicas = 1;
};

// Who may call (README "Security"): jobgw refuses to start unless exactly one of
// credentials_file and insecure_dev is set.
struct AuthConfig {
  std::string credentials_file;
  bool insecure_dev = false;
  std::chrono::milliseconds reload_interval{2000};
  std::string audit_path;  // empty or "-": the main log, as event=audit lines
};

// JOB as jobgw reaches it by default: a local jobsim (jobsim --listen 127.0.0.1:8090).
inline core::JobClientConfig local_jobsim_client() {
  core::JobClientConfig config;
  config.http.base_url = "http://127.0.0.1:8090";
  return config;
}

// Everything jobgw reads at startup, one member per component; each member's type is the single
// home of that component's defaults, and the key table (config.cc) points into these members.
// Every default runs against a local jobsim with no credentials.
struct GatewayConfig {
  GrpcListenerConfig grpc;
  core::JobClientConfig job = local_jobsim_client();
  core::JobReachabilityConfig job_reachability;
  core::WatchHubConfig watch;
  // limits.*, logs.page_hosts, job.call_timeout_ms and watch.status_fresh_for_ms; the Gateway
  // fills in what is built at startup (callback URL, authorizer, caller limits, audit, page size).
  ServiceOptions service;
  core::CallerLimitsConfig caller_limits;
  StateConfig state;
  CallbackConfig callback;
  HttpListenerConfig metrics{"127.0.0.1:9464", {}, {}};
  HttpApiConfig http;
  core::LogFollowConfig follow;
  AuthConfig auth;

  // Threads running the io_context (JOB client, hub, HTTP face, callbacks, Redis); 0: one per
  // core. One by default: with two, each idle JOB read cost 17 context switches (the threads
  // waking each other for every handler) against 2.4 with one, and the 10,000-stream idle CPU
  // fell by a fifth; a second thread only paid off for pass-through unary calls at 64
  // concurrent callers (1.2x the throughput). gRPC's own threads are not these.
  unsigned threads = 1;
  std::chrono::milliseconds shutdown_grace{10000};
  std::string log_level = "info";
  std::string ports_file;

  // Every key as key=value in one line for the startup log; the secret shows as <set>/<unset>.
  std::string summary() const;
};

// What load_config found: the configuration, or that --help was asked for.
struct LoadedConfig {
  GatewayConfig config;
  bool help = false;
  // Harmless oddities worth a log line once logging is set up, e.g. an unknown JOBGW_ variable.
  std::vector<std::string> warnings;
};

using Environment = std::vector<std::pair<std::string, std::string>>;

// Layers, later wins: defaults, the JSON file (--config FILE, else $JOBGW_CONFIG), environment
// variables (JOBGW_ + key upper-cased, '.' -> '_'), then flags (--key=value or --key value).
// Unknown keys and flags and bad values are errors naming the key and where it came from.
core::Result<LoadedConfig> load_config(const std::vector<std::string>& args,
                                       const Environment& env);

// The process environment, for load_config.
Environment process_environment();

// Why the configuration names no way to authenticate callers, or empty when it does: exactly one
// of auth.credentials_file and auth.insecure_dev must be set (both is a load_config error).
std::string missing_auth_problem(const GatewayConfig& config);

// The --help text: every key with its default, env name and a one-line description.
std::string config_help();

// "HOST:PORT" or "[V6]:PORT"; port 0 asks for an ephemeral port.
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};
core::Result<ListenAddress> parse_listen_address(std::string_view spec);

}  // namespace jobgw::server
