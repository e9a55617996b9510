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
#include "core/security/caller_limits.h"
#include "core/watch/watch_hub.h"
#include "server/admission.h"
#include "server/job_gateway_service.h"
#include "server/request_validation.h"

namespace jobgw::server {

// What a request may carry besides script_content and script_param (targets, file sources,
// names): grpc.max_receive_message_bytes must exceed the two field limits by at least this, so
// validation, not gRPC's message limit, refuses an oversized field and names it.
constexpr std::size_t kRequestHeadroomBytes = 1024 * 1024;

// Everything jobgw reads at startup. Every default runs against a local jobsim
// (jobsim --listen 127.0.0.1:8090) with no credentials. A component's default comes from that
// component's own config struct (WatchHubConfig, HttpClientConfig, ServiceOptions, ...), its one
// home; only what no component owns (listen addresses, files) is set here.
struct GatewayConfig {
  std::string grpc_listen = "127.0.0.1:50051";
  std::size_t grpc_max_receive_message_bytes = 4 * 1024 * 1024;
  // gRPC clients refuse messages over 4 MiB unless told otherwise; paged GetIpLogs stays within.
  std::size_t grpc_max_send_message_bytes = 4 * 1024 * 1024;

  std::string job_base_url = "http://127.0.0.1:8090";
  std::string job_api_mode = "apigw";
  std::string job_app_code;
  std::string job_app_secret;  // never logged or printed
  std::string job_default_operator = core::JobApiSettings{}.default_operator;
  std::string job_default_account_alias = core::JobApiSettings{}.default_account_alias;
  std::string job_ca_file;
  bool job_insecure_skip_verify = false;
  std::chrono::milliseconds job_request_timeout = core::HttpClientConfig{}.request_timeout;
  std::chrono::milliseconds job_connect_timeout = core::HttpClientConfig{}.connect_timeout;
  std::size_t job_max_connections = core::HttpClientConfig{}.max_connections;
  int job_max_attempts = core::HttpClientConfig{}.max_attempts;
  std::chrono::milliseconds job_call_timeout = ServiceOptions{}.job_call_timeout;

  std::chrono::milliseconds watch_poll_floor = core::WatchHubConfig{}.poll_floor;
  std::chrono::milliseconds watch_poll_ceiling = core::WatchHubConfig{}.poll_ceiling;
  double watch_poll_growth = core::WatchHubConfig{}.poll_growth;
  std::chrono::milliseconds watch_poll_young_for = core::WatchHubConfig{}.poll_young_for;
  double watch_poll_jitter = core::WatchHubConfig{}.poll_jitter;
  double watch_reads_per_second = core::WatchHubConfig{}.reads_per_second;
  double watch_read_burst = core::WatchHubConfig{}.read_burst;
  std::chrono::milliseconds watch_give_up_after = core::WatchHubConfig{}.give_up_after;
  std::size_t watch_history_limit = core::WatchHubConfig{}.history_limit;
  std::size_t watch_subscriber_queue_limit = core::WatchHubConfig{}.subscriber_queue_limit;
  std::chrono::milliseconds watch_finished_retention = core::WatchHubConfig{}.finished_retention;
  std::chrono::milliseconds watch_status_fresh_for = ServiceOptions{}.status_fresh_for;

  // Idempotency keys and unfinished jobs; empty keeps them in memory only (lost on restart).
  std::string state_path = "jobgw-state.db";
  std::uint64_t idempotency_window_s = 86400;

  std::string callback_listen;
  std::string callback_public_url;
  std::string metrics_listen = "127.0.0.1:9464";

  std::size_t limits_max_script_bytes = ValidationLimits{}.max_script_bytes;
  std::size_t limits_max_param_bytes = ValidationLimits{}.max_param_bytes;
  std::size_t limits_max_streams = AdmissionLimits{}.max_streams;
  std::size_t limits_max_inflight_job_calls = AdmissionLimits{}.max_inflight_job_calls;

  std::size_t logs_page_hosts = ServiceOptions{}.log_page_hosts;

  // Security (README "Security"): who may call (auth.*), per-caller limits, the audit trail.
  // jobgw refuses to start unless exactly one of credentials_file and insecure_dev is set.
  std::string auth_credentials_file;
  bool auth_insecure_dev = false;
  std::chrono::milliseconds auth_reload_interval{2000};
  double limits_caller_submits_per_second = core::CallerLimitsConfig{}.submits_per_second;
  double limits_caller_submit_burst = core::CallerLimitsConfig{}.submit_burst;  // 0: the rate
  std::size_t limits_caller_max_streams = core::CallerLimitsConfig{}.max_streams;
  std::size_t limits_max_targets = ValidationLimits{}.max_targets;
  std::string audit_path;  // empty or "-": the main log, as event=audit lines
  // Transport security (README "### TLS"). gRPC: a certificate and key turn TLS on; a client CA
  // adds client-certificate verification (mTLS), required only with tls_require_client_cert.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  bool tls_require_client_cert = false;
  std::uint64_t tls_reload_interval_s = 60;
  // HTTPS for the metrics and callback listeners; a shared address needs the same pair.
  std::string metrics_tls_cert_file;
  std::string metrics_tls_key_file;
  std::string callback_tls_cert_file;
  std::string callback_tls_key_file;
  // HMAC key of the per-job callback tokens; empty: state.path + ".callback-key" (or a key in
  // memory only when state.path is empty too).
  std::string callback_secret_file;

  unsigned threads = 0;
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
