#include "server/config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/http/http_url.h"
#include "core/job/job_codec.h"
#include "core/redis/redis_url.h"

extern char** environ;

namespace jobgw::server {
namespace {

using core::Error;
using core::Result;
using Json = nlohmann::json;

// A problem with one value; the caller adds the key and where the value came from.
using Problem = std::string;

struct Key {
  std::string name;
  std::string help;
  bool secret = false;
  bool is_bool = false;
  std::function<Problem(GatewayConfig&, const std::string&)> set_text;
  std::function<Problem(GatewayConfig&, const Json&)> set_json;
  std::function<std::string(const GatewayConfig&)> show;
};

std::string env_name(const std::string& key) {
  std::string out = "JOBGW_";
  for (char c : key) {
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string quoted(const std::string& value) { return "\"" + value + "\""; }

// A value as it may appear in an error message: secrets never do.
std::string shown_value(const Key& key, const std::string& value) {
  return key.secret ? std::string("<secret>") : quoted(value);
}

std::string json_type(const Json& j) { return j.type_name(); }

using StringCheck = std::function<Problem(const std::string&)>;

using TextSetter = std::function<Problem(GatewayConfig&, const std::string&)>;

// A JSON value for a key whose text form is a string.
std::function<Problem(GatewayConfig&, const Json&)> json_string(TextSetter set_text) {
  return [set_text](GatewayConfig& c, const Json& j) -> Problem {
    if (!j.is_string()) return "expected a string, got " + json_type(j);
    return set_text(c, j.get<std::string>());
  };
}

// job.api_mode is kept as core::ApiMode and written and shown by its name.
Key api_mode_key(std::string name, std::string help) {
  Key k;
  k.name = std::move(name);
  k.help = std::move(help);
  k.set_text = [](GatewayConfig& c, const std::string& v) -> Problem {
    auto mode = core::parse_api_mode(v);
    if (!mode) return "expected apigw or esb";
    c.job.api.mode = mode.value();
    return {};
  };
  k.set_json = json_string(k.set_text);
  k.show = [](const GatewayConfig& c) { return std::string(core::api_mode_name(c.job.api.mode)); };
  return k;
}

// state.redis_url: checked as a Redis URL and shown with its password masked.
Key redis_url_key() {
  Key k;
  k.name = "state.redis_url";
  // Errors never quote the value: it may hold the password.
  k.secret = true;
  k.help =
      "redis://[user:password@]host:port/db or rediss:// (TLS): replicas share request_ids, "
      "jobs and watches there (empty: this replica alone)";
  k.set_text = [](GatewayConfig& c, const std::string& v) -> Problem {
    if (!v.empty()) {
      auto parsed = core::parse_redis_url(v);
      if (!parsed) return parsed.error().message;
    }
    c.state.redis_url = v;
    return {};
  };
  k.set_json = json_string(k.set_text);
  k.show = [](const GatewayConfig& c) -> std::string {
    if (c.state.redis_url.empty()) return "";
    auto parsed = core::parse_redis_url(c.state.redis_url);
    return parsed ? parsed->redacted() : std::string("<invalid>");
  };
  return k;
}

Problem check_key_prefix(const std::string& v) {
  if (v.empty()) return "must not be empty";
  for (char c : v) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '{' || c == '}') {
      return "must not contain spaces or braces";
    }
  }
  return {};
}

// A key's place in GatewayConfig: FIELD(watch.poll_floor) gives a generic lambda returning that
// member of a (const or mutable) GatewayConfig, so keys point into nested component structs.
#define FIELD(path) \
  [](auto& c) -> auto& { return c.path; }

template <typename Field>
Key string_key(std::string name, std::string help, Field field, StringCheck check = {},
               bool secret = false) {
  Key k;
  k.name = std::move(name);
  k.help = std::move(help);
  k.secret = secret;
  k.set_text = [field, check](GatewayConfig& c, const std::string& v) -> Problem {
    if (check) {
      Problem p = check(v);
      if (!p.empty()) return p;
    }
    field(c) = v;
    return {};
  };
  k.set_json = json_string(k.set_text);
  k.show = [field, secret](const GatewayConfig& c) {
    if (secret) return std::string(field(c).empty() ? "<unset>" : "<set>");
    return std::string(field(c));
  };
  return k;
}

Problem parse_uint(const std::string& text, std::uint64_t min, std::uint64_t max,
                   std::uint64_t& out) {
  if (text.empty() || !std::all_of(text.begin(), text.end(),
                                   [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return "expected a non-negative integer";
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || ptr != text.data() + text.size() || out < min || out > max) {
    return "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  }
  return {};
}

Problem json_uint(const Json& j, std::uint64_t min, std::uint64_t max, std::uint64_t& out) {
  if (j.is_number_unsigned()) {
    out = j.get<std::uint64_t>();
  } else if (j.is_number_integer()) {
    return "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  } else {
    return "expected an integer, got " + json_type(j);
  }
  if (out < min || out > max) {
    return "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  }
  return {};
}

// Integer keys of any unsigned-compatible field type, or milliseconds.
template <typename Store, typename Load>
Key uint_key_impl(std::string name, std::string help, std::uint64_t min, std::uint64_t max,
                  Store store, Load load) {
  Key k;
  k.name = std::move(name);
  k.help = std::move(help);
  k.set_text = [min, max, store](GatewayConfig& c, const std::string& v) -> Problem {
    std::uint64_t n = 0;
    Problem p = parse_uint(v, min, max, n);
    if (p.empty()) store(c, n);
    return p;
  };
  k.set_json = [min, max, store](GatewayConfig& c, const Json& j) -> Problem {
    std::uint64_t n = 0;
    Problem p = json_uint(j, min, max, n);
    if (p.empty()) store(c, n);
    return p;
  };
  k.show = [load](const GatewayConfig& c) { return std::to_string(load(c)); };
  return k;
}

template <typename Field>
Key uint_key(std::string name, std::string help, Field field, std::uint64_t min,
             std::uint64_t max) {
  using T = std::remove_reference_t<decltype(field(std::declval<GatewayConfig&>()))>;
  return uint_key_impl(
      std::move(name), std::move(help), min, max,
      [field](GatewayConfig& c, std::uint64_t n) { field(c) = static_cast<T>(n); },
      [field](const GatewayConfig& c) { return static_cast<std::uint64_t>(field(c)); });
}

template <typename Field>
Key ms_key(std::string name, std::string help, Field field, std::uint64_t min, std::uint64_t max) {
  return uint_key_impl(
      std::move(name), std::move(help), min, max,
      [field](GatewayConfig& c, std::uint64_t n) {
        field(c) = std::chrono::milliseconds(static_cast<std::int64_t>(n));
      },
      [field](const GatewayConfig& c) { return static_cast<std::uint64_t>(field(c).count()); });
}

std::string format_double(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

template <typename Field>
Key double_key(std::string name, std::string help, Field field, double min, double max) {
  Key k;
  k.name = std::move(name);
  k.help = std::move(help);
  auto range = "out of range [" + format_double(min) + ", " + format_double(max) + "]";
  auto store = [field, min, max, range](GatewayConfig& c, double v) -> Problem {
    if (!std::isfinite(v) || v < min || v > max) return range;
    field(c) = v;
    return {};
  };
  k.set_text = [store](GatewayConfig& c, const std::string& v) -> Problem {
    const char* begin = v.c_str();
    char* end = nullptr;
    double d = std::strtod(begin, &end);
    if (v.empty() || std::isspace(static_cast<unsigned char>(v[0])) || end != begin + v.size()) {
      return "expected a number";
    }
    return store(c, d);
  };
  k.set_json = [store](GatewayConfig& c, const Json& j) -> Problem {
    if (!j.is_number()) return "expected a number, got " + json_type(j);
    return store(c, j.get<double>());
  };
  k.show = [field](const GatewayConfig& c) { return format_double(field(c)); };
  return k;
}

std::optional<bool> parse_bool(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  return std::nullopt;
}

template <typename Field>
Key bool_key(std::string name, std::string help, Field field) {
  Key k;
  k.name = std::move(name);
  k.help = std::move(help);
  k.is_bool = true;
  k.set_text = [field](GatewayConfig& c, const std::string& v) -> Problem {
    auto b = parse_bool(v);
    if (!b) return "expected true or false";
    field(c) = *b;
    return {};
  };
  k.set_json = [field](GatewayConfig& c, const Json& j) -> Problem {
    if (!j.is_boolean()) return "expected true or false, got " + json_type(j);
    field(c) = j.get<bool>();
    return {};
  };
  k.show = [field](const GatewayConfig& c) { return std::string(field(c) ? "true" : "false"); };
  return k;
}

Problem check_listen(const std::string& v) {
  auto parsed = parse_listen_address(v);
  return parsed ? Problem{} : parsed.error().message;
}

Problem check_optional_listen(const std::string& v) {
  return v.empty() ? Problem{} : check_listen(v);
}

Problem check_url(const std::string& v) {
  auto parsed = core::parse_http_url(v);
  return parsed ? Problem{} : parsed.error().message;
}

Problem check_optional_url(const std::string& v) { return v.empty() ? Problem{} : check_url(v); }

Problem check_non_empty(const std::string& v) {
  return v.empty() ? Problem("must not be empty") : Problem{};
}

Problem check_log_level(const std::string& v) {
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  for (const char* level : kLevels) {
    if (v == level) return {};
  }
  return "expected trace, debug, info, warn, error, critical or off";
}

// "https://a.example, http://localhost:3000": each an origin, no path; "*" is refused, since
// credentials (Bearer tokens) must never be offered to every site.
Problem check_origins(const std::string& v) {
  std::size_t start = 0;
  while (start <= v.size()) {
    std::size_t end = v.find(',', start);
    if (end == std::string::npos) end = v.size();
    std::string origin = v.substr(start, end - start);
    while (!origin.empty() && origin.front() == ' ') origin.erase(origin.begin());
    while (!origin.empty() && origin.back() == ' ') origin.pop_back();
    if (!origin.empty()) {
      if (origin == "*") return "\"*\" is not allowed: list the origins";
      const bool scheme = origin.rfind("http://", 0) == 0 || origin.rfind("https://", 0) == 0;
      const std::size_t host = origin.find("//") + 2;
      if (!scheme || origin.find('/', host) != std::string::npos || host >= origin.size()) {
        return "\"" + origin + "\" is not an origin like https://dash.example:8443";
      }
    }
    start = end + 1;
  }
  return {};
}

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kHour = 3600 * 1000;
constexpr std::uint64_t kDay = 24 * kHour;

// Security keys (README "Security"): authentication, per-caller limits, audit.
void add_security_keys(std::vector<Key>& k) {
  k.push_back(string_key("auth.credentials_file",
                         "JSON file of callers, token hashes and grants (a mounted Kubernetes "
                         "Secret works); reloaded on SIGHUP and on change",
                         FIELD(auth.credentials_file)));
  k.push_back(bool_key("auth.insecure_dev",
                       "allow every call unauthenticated, as caller \"anonymous\" (local "
                       "development only; also --insecure-dev)",
                       FIELD(auth.insecure_dev)));
  k.push_back(ms_key("auth.reload_interval_ms",
                     "how often the credentials file is checked for changes (0: only SIGHUP)",
                     FIELD(auth.reload_interval), 0, kHour));
  k.push_back(double_key("limits.caller_submits_per_second",
                         "submits per second per caller; beyond: RESOURCE_EXHAUSTED with a retry "
                         "hint (0: no limit)",
                         FIELD(caller_limits.submits_per_second), 0, 1000000));
  k.push_back(double_key("limits.caller_submit_burst",
                         "submits one caller may make at once above the rate (0: = the rate)",
                         FIELD(caller_limits.submit_burst), 0, 1000000));
  k.push_back(uint_key("limits.caller_max_streams",
                       "WatchStatus streams one caller may hold open (0: no limit)",
                       FIELD(caller_limits.max_streams), 0, 10000000));
  k.push_back(uint_key("limits.max_targets",
                       "hosts, topology nodes and dynamic groups one submit may name (targets "
                       "and file sources together)",
                       FIELD(service.validation.max_targets), 1, 10000000));
  k.push_back(string_key("audit.path",
                         "file the audit trail (one JSON line per mutating call) is appended to "
                         "(empty or -: the main log, as event=audit lines)",
                         FIELD(auth.audit_path)));
}

// Transport security keys (README "### TLS").
void add_tls_keys(std::vector<Key>& k) {
  k.push_back(string_key("tls.cert_file",
                         "PEM certificate chain of the gRPC listener (empty: plaintext gRPC)",
                         FIELD(grpc.tls.cert_file)));
  k.push_back(
      string_key("tls.key_file", "PEM private key of tls.cert_file", FIELD(grpc.tls.key_file)));
  k.push_back(string_key("tls.client_ca_file",
                         "PEM CA bundle verifying gRPC client certificates (mTLS; empty: none)",
                         FIELD(grpc.tls.client_ca_file)));
  k.push_back(bool_key("tls.require_client_cert",
                       "refuse gRPC clients without a certificate from tls.client_ca_file",
                       FIELD(grpc.tls.require_client_cert)));
  k.push_back(uint_key("tls.reload_interval_s",
                       "how often changed certificate, key and CA files are picked up (seconds)",
                       FIELD(grpc.tls.reload_interval_s), 1, 86400));
  k.push_back(string_key("metrics.tls_cert_file", "PEM certificate chain for HTTPS on /metrics",
                         FIELD(metrics.tls_cert_file)));
  k.push_back(string_key("metrics.tls_key_file", "PEM private key of metrics.tls_cert_file",
                         FIELD(metrics.tls_key_file)));
  k.push_back(string_key("callback.tls_cert_file",
                         "PEM certificate chain for HTTPS on the callback listener",
                         FIELD(callback.http.tls_cert_file)));
  k.push_back(string_key("callback.tls_key_file", "PEM private key of callback.tls_cert_file",
                         FIELD(callback.http.tls_key_file)));
  k.push_back(string_key("callback.secret_file",
                         "HMAC key file for per-job callback tokens, created 0600 when absent "
                         "(empty: state.path + \".callback-key\")",
                         FIELD(callback.secret_file)));
}

const std::vector<Key>& keys() {
  static const std::vector<Key> kKeys = [] {
    std::vector<Key> k;
    k.push_back(string_key("grpc.listen", "gRPC address HOST:PORT or [V6]:PORT; port 0 = ephemeral",
                           FIELD(grpc.listen), check_listen));
    k.push_back(uint_key("grpc.max_receive_message_bytes", "largest gRPC request accepted",
                         FIELD(grpc.max_receive_message_bytes), 1024, 1024 * kMiB));
    k.push_back(uint_key("grpc.max_send_message_bytes", "largest gRPC response sent",
                         FIELD(grpc.max_send_message_bytes), 1024, 1024 * kMiB));
    k.push_back(
        string_key("job.base_url",
                   "JOB (or jobsim) base URL, http:// or https://, with any path prefix (/prod)",
                   FIELD(job.http.base_url), check_url));
    k.push_back(
        api_mode_key("job.api_mode", "apigw (credentials in a header) or esb (in the body)"));
    k.push_back(string_key("job.app_code", "bk_app_code presented to JOB (empty: none)",
                           FIELD(job.api.app_code)));
    k.push_back(string_key("job.app_secret", "bk_app_secret presented to JOB; never printed",
                           FIELD(job.api.app_secret), {}, /*secret=*/true));
    k.push_back(string_key("job.default_operator", "bk_username when a call names no operator",
                           FIELD(job.api.default_operator), check_non_empty));
    k.push_back(string_key("job.default_account_alias",
                           "account on the targets when a call names none",
                           FIELD(job.api.default_account_alias), check_non_empty));
    k.push_back(string_key("job.ca_file", "extra PEM CA bundle trusted for https JOB URLs",
                           FIELD(job.http.ca_file)));
    k.push_back(bool_key("job.insecure_skip_verify", "disable TLS certificate verification",
                         FIELD(job.http.insecure_skip_verify)));
    k.push_back(ms_key("job.request_timeout_ms", "per HTTP attempt to JOB",
                       FIELD(job.http.request_timeout), 1, kHour));
    k.push_back(ms_key("job.connect_timeout_ms", "TCP and TLS connect to JOB",
                       FIELD(job.http.connect_timeout), 1, kHour));
    k.push_back(uint_key("job.max_connections", "keep-alive connections to JOB",
                         FIELD(job.http.max_connections), 1, 4096));
    k.push_back(uint_key("job.max_attempts", "HTTP attempts per JOB read (1 = no retry)",
                         FIELD(job.http.max_attempts), 1, 20));
    k.push_back(ms_key("job.call_timeout_ms", "overall deadline of one unary RPC's JOB call",
                       FIELD(service.job_call_timeout), 1, kHour));
    k.push_back(ms_key("watch.poll_floor_ms", "fastest poll interval (after a change)",
                       FIELD(watch.poll_floor), 10, kHour));
    k.push_back(ms_key("watch.poll_ceiling_ms", "slowest poll interval (nothing changing)",
                       FIELD(watch.poll_ceiling), 10, kHour));
    k.push_back(double_key("watch.poll_growth", "interval factor per unchanged read",
                           FIELD(watch.poll_growth), 1.0, 10.0));
    k.push_back(ms_key("watch.poll_young_ms",
                       "jobs younger than this are read at the floor (0: off)",
                       FIELD(watch.poll_young_for), 0, kHour));
    k.push_back(double_key("watch.poll_jitter", "+- fraction applied to every poll interval",
                           FIELD(watch.poll_jitter), 0.0, 0.9));
    k.push_back(ms_key("watch.poll_grid_ms",
                       "reads due 1 s or more ahead are batched on this grid (0: off)",
                       FIELD(watch.poll_grid), 0, 60000));
    k.push_back(double_key("watch.reads_per_second", "global cap on JOB status reads",
                           FIELD(watch.reads_per_second), 0.01, 100000));
    k.push_back(double_key("watch.read_burst", "status reads allowed at once above the rate",
                           FIELD(watch.read_burst), 1, 100000));
    k.push_back(ms_key("watch.callback_safety_ms",
                       "read a job nobody wants host detail of this often while callbacks "
                       "arrive (0: never slow)",
                       FIELD(watch.callback_safety), 0, kDay));
    k.push_back(ms_key("watch.callback_grace_ms",
                       "a finished job's callback missing this long counts as missed",
                       FIELD(watch.callback_grace), 0, kHour));
    k.push_back(ms_key("watch.first_read_lead_ms",
                       "under a spent budget, a first read overtakes reads overdue less than this",
                       FIELD(watch.read_order.first_read_lead), 0, kHour));
    k.push_back(ms_key("watch.unwatched_lag_ms",
                       "under a spent budget, a job nobody watches waits this long before it "
                       "may take tokens from watched jobs",
                       FIELD(watch.read_order.unwatched_lag), 0, kDay));
    k.push_back(double_key("watch.unwatched_share",
                           "under a spent budget, the most of the tokens unwatched jobs take "
                           "while watched jobs wait",
                           FIELD(watch.read_order.unwatched_share), 0.01, 1.0));
    k.push_back(ms_key("watch.sweep_interval_ms",
                       "while reads wait for the budget, list each scope's jobs this often and "
                       "read changed ones first (0: never)",
                       FIELD(watch.sweep_interval), 0, kHour));
    k.push_back(uint_key("watch.sweep_min_jobs",
                         "a scope is listed when at least this many of its jobs have watchers",
                         FIELD(watch.sweep_min_jobs), 1, 1000000));
    k.push_back(uint_key("watch.sweep_page", "jobs per job list read (JOB allows up to 1000)",
                         FIELD(watch.sweep_page), 1, 1000));
    k.push_back(ms_key("watch.give_up_after_ms", "end a job's streams after no good read this long",
                       FIELD(watch.give_up_after), 1000, 30 * kDay));
    k.push_back(ms_key("watch.lost_grace_ms",
                       "keep reading a job JOB calls unknown after an outage this long",
                       FIELD(watch.lost_grace), 0, kDay));
    k.push_back(ms_key("job.unreachable_after_ms",
                       "JOB counts as unreachable after attempts fail this long",
                       FIELD(job_reachability.unreachable_after), 100, kHour));
    k.push_back(ms_key("job.probe_interval_ms",
                       "probe JOB when it was not asked anything this long",
                       FIELD(job_reachability.probe_interval), 100, kHour));
    k.push_back(uint_key("watch.history_limit", "events kept per job for after_seq resumption",
                         FIELD(watch.history_limit), 1, 1000000));
    k.push_back(uint_key("watch.subscriber_queue_limit",
                         "events queued per subscriber before collapsing into a snapshot",
                         FIELD(watch.subscriber_queue_limit), 2, 1000000));
    k.push_back(ms_key("watch.finished_retention_ms", "how long finished jobs stay readable",
                       FIELD(watch.finished_retention), 0, 30 * kDay));
    k.push_back(ms_key("watch.status_fresh_for_ms",
                       "GetJobStatus answers from the watch cache when this fresh (or "
                       "polled and not overdue; 0: never for unfinished jobs)",
                       FIELD(service.status_fresh_for), 0, kHour));
    k.push_back(string_key("state.path",
                           "SQLite file remembering request_ids and unfinished jobs across "
                           "restarts (empty: memory only)",
                           FIELD(state.path)));
    k.push_back(redis_url_key());
    k.push_back(string_key("state.redis_password_file",
                           "file holding the Redis password (wins over one in state.redis_url)",
                           FIELD(state.redis_password_file)));
    k.push_back(string_key("state.redis_ca_file",
                           "extra PEM CA bundle trusted for rediss:// (the system store is too)",
                           FIELD(state.redis_ca_file)));
    k.push_back(string_key("state.redis_key_prefix",
                           "prefix of every Redis key this gateway writes (one per gateway)",
                           FIELD(state.redis_key_prefix), check_key_prefix));
    k.push_back(uint_key("state.replicas",
                         "replicas sharing watch.reads_per_second; each uses 1/N of it while "
                         "Redis cannot be asked",
                         FIELD(state.replicas), 1, 1000));
    k.push_back(string_key("state.replica_id",
                           "this replica's name in Redis (empty: host name and process id)",
                           FIELD(state.replica_id)));
    k.push_back(uint_key("idempotency.window_s",
                         "how long a request_id answers with its first job (seconds)",
                         FIELD(state.idempotency_window_s), 1, 30 * kDay / 1000));
    k.push_back(string_key("callback.listen",
                           "JOB callback HTTP address HOST:PORT (empty = no callbacks)",
                           FIELD(callback.http.listen), check_optional_listen));
    k.push_back(string_key("callback.public_url",
                           "callback URL given to JOB (empty: derived from callback.listen)",
                           FIELD(callback.public_url), check_optional_url));
    k.push_back(string_key("metrics.listen", "HTTP address for /metrics and /healthz (empty = off)",
                           FIELD(metrics.listen), check_optional_listen));
    k.push_back(string_key("http.listen",
                           "HTTP/JSON + SSE API and status page address HOST:PORT (empty = off)",
                           FIELD(http.http.listen), check_optional_listen));
    k.push_back(string_key("http.tls_cert_file", "PEM certificate chain for HTTPS on http.listen",
                           FIELD(http.http.tls_cert_file)));
    k.push_back(string_key("http.tls_key_file", "PEM private key of http.tls_cert_file",
                           FIELD(http.http.tls_key_file)));
    k.push_back(string_key("http.cors_origins",
                           "comma-separated origins whose pages may call http.listen (CORS; "
                           "empty = off)",
                           FIELD(http.cors_origins), check_origins));
    k.push_back(ms_key("http.heartbeat_ms",
                       "comment line sent on idle event streams this often (keeps proxies from "
                       "closing them)",
                       FIELD(http.heartbeat), 100, kHour));
    k.push_back(ms_key("follow.interval_ms",
                       "one log read per followed step this often while a followed host runs",
                       FIELD(follow.interval), 50, kHour));
    k.push_back(uint_key("follow.max_hosts", "hosts one FollowLogs stream may follow",
                         FIELD(follow.max_hosts), 1, 500));
    k.push_back(uint_key("follow.max_host_log_bytes",
                         "bytes of one host's log held for followers; beyond, its text is cut "
                         "(truncated) and GetIpLogs has the rest",
                         FIELD(follow.max_host_log_bytes), 4096, 1024 * kMiB));
    k.push_back(uint_key("follow.max_held_bytes",
                         "log bytes held for followers in all (every step); a host that would "
                         "pass it is cut like one past follow.max_host_log_bytes (0: no cap)",
                         FIELD(follow.max_held_bytes), 0, 64 * 1024 * kMiB));
    k.push_back(ms_key("follow.retention_ms",
                       "how long a step's logs stay held after its last follower left (for "
                       "resumes)",
                       FIELD(follow.retention), 0, kDay));
    k.push_back(ms_key("plans.cache_ms",
                       "how long ExecuteJobPlan checks variables against a plan it read from "
                       "JOB before reading it again (0: every call reads it)",
                       FIELD(service.plan_cache_ttl), 0, kDay));
    k.push_back(uint_key("limits.max_script_bytes", "largest script_content accepted",
                         FIELD(service.validation.max_script_bytes), 1, 64 * kMiB));
    k.push_back(uint_key("limits.max_param_bytes", "largest script_param accepted",
                         FIELD(service.validation.max_param_bytes), 1, 64 * kMiB));
    k.push_back(uint_key("logs.page_hosts",
                         "most hosts one GetIpLogs page asks JOB for (a page holds fewer when "
                         "their logs reach the response size limit)",
                         FIELD(service.log_page_hosts), 1, 100000));
    k.push_back(uint_key("limits.max_streams",
                         "WatchStatus streams open at once; beyond: RESOURCE_EXHAUSTED",
                         FIELD(service.admission.max_streams), 1, 10000000));
    k.push_back(uint_key("limits.max_inflight_job_calls",
                         "unary RPCs (calls to JOB) in progress at once; beyond: "
                         "RESOURCE_EXHAUSTED",
                         FIELD(service.admission.max_inflight_job_calls), 1, 10000000));
    add_security_keys(k);
    add_tls_keys(k);
    k.push_back(uint_key("threads", "io threads (0 = one per core)", FIELD(threads), 0, 1024));
    k.push_back(ms_key("shutdown_grace_ms", "time unary RPCs get to finish on SIGTERM",
                       FIELD(shutdown_grace), 0, kHour));
    k.push_back(string_key("log.level", "trace, debug, info, warn, error, critical or off",
                           FIELD(log_level), check_log_level));
    k.push_back(string_key("ports_file",
                           "after binding, write {\"grpc\":P,\"metrics\":P,\"callback\":P} here",
                           FIELD(ports_file)));
    return k;
  }();
  return kKeys;
}

#undef FIELD

const Key* find_key(const std::string& name) {
  for (const Key& k : keys()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

Error config_error(std::string message) { return Error::invalid_argument(std::move(message)); }

Error bad_value(const Key& key, const std::string& source, const std::string& value,
                const Problem& problem) {
  return config_error("bad value for " + key.name + " from " + source + ": " +
                      shown_value(key, value) + ": " + problem);
}

// Flattens {"grpc": {"listen": ...}} and {"grpc.listen": ...} alike into dotted keys.
Result<void> apply_json(GatewayConfig& config, const Json& object, const std::string& prefix,
                        const std::string& source) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    std::string name = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object()) {
      auto nested = apply_json(config, *it, name, source);
      if (!nested) return nested;
      continue;
    }
    const Key* key = find_key(name);
    if (key == nullptr) return config_error("unknown key \"" + name + "\" in " + source);
    Problem p = key->set_json(config, *it);
    if (!p.empty()) {
      std::string shown = key->secret ? "<secret>" : it->dump();
      return config_error("bad value for " + name + " from " + source + ": " + shown + ": " + p);
    }
  }
  return {};
}

Result<void> apply_file(GatewayConfig& config, const std::string& path) {
  std::string source = "config file " + path;
  std::ifstream in(path, std::ios::binary);
  if (!in) return config_error(source + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  Json doc;
  try {
    doc = Json::parse(text.str());
  } catch (const Json::parse_error& e) {
    return config_error(source + ": not valid JSON (byte " + std::to_string(e.byte) + ")");
  }
  if (!doc.is_object()) return config_error(source + ": expected a JSON object");
  return apply_json(config, doc, "", source);
}

struct FlagValue {
  const Key* key;
  std::string flag;
  std::string value;
};

// Pairs that only work together, and the shared callback+metrics address serving one TLS setup.
Result<void> validate_tls(const GatewayConfig& c) {
  struct Pair {
    const std::string& cert;
    const std::string& key;
    const char* cert_name;
    const char* key_name;
  };
  for (const Pair& p :
       {Pair{c.grpc.tls.cert_file, c.grpc.tls.key_file, "tls.cert_file", "tls.key_file"},
        Pair{c.metrics.tls_cert_file, c.metrics.tls_key_file, "metrics.tls_cert_file",
             "metrics.tls_key_file"},
        Pair{c.callback.http.tls_cert_file, c.callback.http.tls_key_file, "callback.tls_cert_file",
             "callback.tls_key_file"},
        Pair{c.http.http.tls_cert_file, c.http.http.tls_key_file, "http.tls_cert_file",
             "http.tls_key_file"}}) {
    if (p.cert.empty() != p.key.empty()) {
      return config_error(std::string(p.cert_name) + " and " + p.key_name +
                          " go together: set both or neither");
    }
  }
  if (!c.grpc.tls.client_ca_file.empty() && c.grpc.tls.cert_file.empty()) {
    return config_error(
        "tls.client_ca_file needs tls.cert_file and tls.key_file: client certificates are only "
        "asked for over TLS");
  }
  if (c.grpc.tls.require_client_cert && c.grpc.tls.client_ca_file.empty()) {
    return config_error("tls.require_client_cert needs tls.client_ca_file to verify them with");
  }
  bool shared = !c.callback.http.listen.empty() && c.callback.http.listen == c.metrics.listen;
  if (shared && (c.metrics.tls_cert_file != c.callback.http.tls_cert_file ||
                 c.metrics.tls_key_file != c.callback.http.tls_key_file)) {
    return config_error(
        "callback.listen and metrics.listen share one address, so callback.tls_* and "
        "metrics.tls_* must name the same files");
  }
  return {};
}

// Cross-key rules, checked once every layer is applied.
Result<void> validate(const GatewayConfig& c) {
  if (c.watch.poll_floor > c.watch.poll_ceiling) {
    return config_error("watch.poll_floor_ms (" + std::to_string(c.watch.poll_floor.count()) +
                        ") exceeds watch.poll_ceiling_ms (" +
                        std::to_string(c.watch.poll_ceiling.count()) + ")");
  }
  if (!c.callback.public_url.empty() && c.callback.http.listen.empty()) {
    return config_error(
        "callback.public_url is set but callback.listen is empty: nothing would receive JOB's "
        "callbacks");
  }
  if (c.auth.insecure_dev && !c.auth.credentials_file.empty()) {
    // Ambiguous: either a credentials file meant to protect a deployment would be ignored, or a
    // dev flag left over from a test would be; neither should be guessed.
    return config_error(
        "auth.credentials_file and auth.insecure_dev (--insecure-dev) are both set: choose one");
  }
  if (c.job.api.app_code.empty() != c.job.api.app_secret.empty()) {
    return config_error("job.app_code and job.app_secret go together: set both or neither");
  }
  // gRPC refuses a larger message before jobgw reads it, so it could not name the field: the
  // field limits must be reached first, with room for targets and the other fields.
  const std::size_t fields =
      c.service.validation.max_script_bytes + c.service.validation.max_param_bytes;
  if (c.grpc.max_receive_message_bytes < fields + kRequestHeadroomBytes) {
    return config_error(
        "grpc.max_receive_message_bytes (" + std::to_string(c.grpc.max_receive_message_bytes) +
        ") must be at least limits.max_script_bytes + limits.max_param_bytes + " +
        std::to_string(kRequestHeadroomBytes) + " for the other fields (" +
        std::to_string(fields + kRequestHeadroomBytes) +
        "), so that an oversized script is refused naming script_content instead of by gRPC's "
        "message limit");
  }
  return validate_tls(c);
}

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view spec) {
  auto bad = [&](const char* why) {
    return Error::invalid_argument("listen address \"" + std::string(spec) + "\": " + why);
  };
  ListenAddress out;
  std::string_view port;
  if (!spec.empty() && spec.front() == '[') {
    auto close = spec.find(']');
    if (close == std::string_view::npos || close + 1 >= spec.size() || spec[close + 1] != ':') {
      return bad("expected [V6ADDR]:PORT");
    }
    out.host = std::string(spec.substr(1, close - 1));
    port = spec.substr(close + 2);
  } else {
    auto colon = spec.rfind(':');
    if (colon == std::string_view::npos) return bad("expected HOST:PORT");
    out.host = std::string(spec.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return bad("IPv6 addresses go in brackets");
    port = spec.substr(colon + 1);
  }
  if (out.host.empty()) return bad("missing host");
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(),
                   [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return bad("bad port");
  }
  unsigned value = 0;
  std::from_chars(port.data(), port.data() + port.size(), value);
  if (value > 65535) return bad("port out of range");
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

Result<LoadedConfig> load_config(const std::vector<std::string>& args, const Environment& env) {
  LoadedConfig loaded;
  // --help wins over everything else, even bad flags, so it always works.
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      loaded.help = true;
      return loaded;
    }
  }

  std::optional<std::string> config_file;
  std::vector<FlagValue> flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      return config_error("unexpected argument \"" + arg + "\" (flags look like --key=value)");
    }
    std::string body = arg.substr(2);
    std::optional<std::string> value;
    auto eq = body.find('=');
    std::string name = body.substr(0, eq);
    if (name == "insecure-dev") name = "auth.insecure_dev";
    if (eq != std::string::npos) value = body.substr(eq + 1);
    const Key* key = name == "config" ? nullptr : find_key(name);
    if (name != "config" && key == nullptr) return config_error("unknown flag --" + name);
    if (!value) {
      bool next_is_value = i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0;
      if (key != nullptr && key->is_bool) {
        // A bare boolean flag means true; "--flag false" still reads the next word.
        if (next_is_value && parse_bool(args[i + 1]))
          value = args[++i];
        else
          value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return config_error("flag --" + name + " needs a value");
      }
    }
    if (key == nullptr) {
      config_file = *value;
    } else {
      flags.push_back({key, "--" + name, *value});
    }
  }

  if (!config_file) {
    for (const auto& [name, value] : env) {
      if (name == "JOBGW_CONFIG" && !value.empty()) config_file = value;
    }
  }
  if (config_file) {
    auto applied = apply_file(loaded.config, *config_file);
    if (!applied) return applied.error();
  }

  std::map<std::string, const Key*> by_env;
  for (const Key& k : keys()) by_env[env_name(k.name)] = &k;
  for (const auto& [name, value] : env) {
    if (name.rfind("JOBGW_", 0) != 0 || name == "JOBGW_CONFIG") continue;
    auto it = by_env.find(name);
    if (it == by_env.end()) {
      // The environment is shared with test harnesses and wrappers; a typo here is reported but
      // does not stop the gateway, unlike in the file and flags jobgw alone reads.
      loaded.warnings.push_back("ignoring unknown environment variable " + name);
      continue;
    }
    Problem p = it->second->set_text(loaded.config, value);
    if (!p.empty()) return bad_value(*it->second, "env " + name, value, p);
  }

  for (const FlagValue& f : flags) {
    Problem p = f.key->set_text(loaded.config, f.value);
    if (!p.empty()) return bad_value(*f.key, "flag " + f.flag, f.value, p);
  }

  auto valid = validate(loaded.config);
  if (!valid) return valid.error();
  return loaded;
}

Environment process_environment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    if (entry.rfind("JOBGW_", 0) != 0) continue;
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    env.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

std::string config_help() {
  GatewayConfig defaults;
  std::ostringstream out;
  out << "jobgw: a gRPC gateway to the BlueKing JOB platform.\n\n"
         "Usage: jobgw [--config FILE] [--KEY=VALUE | --KEY VALUE]...\n\n"
         "Layers, later wins: defaults, the JSON file (--config FILE or $JOBGW_CONFIG; nested\n"
         "objects or dotted keys), environment variables, flags. Every default runs against a\n"
         "local jobsim on 127.0.0.1:8090.\n\n"
         "Keys:\n";
  for (const Key& k : keys()) {
    std::string def = k.show(defaults);
    out << "  --" << k.name << "  (env " << env_name(k.name) << ", default "
        << (def.empty() ? "\"\"" : def) << ")\n      " << k.help << "\n";
  }
  out << "\n  --insecure-dev  the same as --auth.insecure_dev=true\n";
  out << "  --help  print this text and exit\n";
  return out.str();
}

std::string missing_auth_problem(const GatewayConfig& config) {
  if (!config.auth.credentials_file.empty() || config.auth.insecure_dev) return {};
  return "no way to authenticate callers: set auth.credentials_file (--auth.credentials_file=FILE "
         "or JOBGW_AUTH_CREDENTIALS_FILE; see README \"Security\") or, for local development "
         "only, --insecure-dev";
}

std::string GatewayConfig::summary() const {
  std::string out;
  for (const Key& k : keys()) {
    if (!out.empty()) out += ' ';
    std::string v = k.show(*this);
    out += k.name + "=" + (v.empty() ? "\"\"" : v);
  }
  return out;
}

}  // namespace jobgw::server
