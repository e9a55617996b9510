#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "jobgw/v1/job_gateway.pb.h"

namespace jobgw::client {

inline constexpr char kDefaultAddress[] = "127.0.0.1:50051";
// jobgw's default limits.max_script_bytes: exec checks a script against it before sending, so a
// script too large for jobgw (or for gRPC's message limit) is refused naming the flag.
inline constexpr std::int64_t kDefaultMaxScriptBytes = 1024 * 1024;

// How watch output is printed: auto = table on a terminal, plain lines otherwise.
enum class OutputMode { kAuto, kPlain, kJson };

// Which jobs `jobctl list` asks for (--state).
enum class ListState { kAll, kRunning, kFinished, kFailed };

struct GlobalOptions {
  std::string address = kDefaultAddress;
  // Deadline of each unary call (--rpc-timeout). Watches and follows are not bounded by it.
  std::chrono::milliseconds rpc_timeout{30000};
  v1::Scope scope;
  // --scope or JOBGW_SCOPE was given: list then shows that scope only, not every one readable.
  bool scope_set = false;
  std::string operator_name;
  // Sent as `authorization: Bearer` on every call; --token wins over $JOBGW_TOKEN. Never printed.
  std::string token;
  // TLS to jobgw (client/channel.h): --tls, implied by --ca-file and --cert-file.
  bool tls = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
};

struct TransferSourceSpec {
  v1::Host host;
  std::string path;
};

struct CliCommand {
  // exec, transfer, watch, logs, list, status, terminate, health, token, plans, plan, run-plan,
  // operate, confirm, outputs; "" = top
  std::string name;
  bool help = false;     // --help, -h, or `jobctl help [COMMAND]`
  bool version = false;  // --version
  // --verbose: gRPC's own log lines on stderr (otherwise silenced) and event seq numbers.
  bool verbose = false;
  // Lines for stderr before the command runs (a deprecated flag was used).
  std::vector<std::string> warnings;
  GlobalOptions global;
  OutputMode output = OutputMode::kAuto;
  bool watch = false;
  bool logs = false;
  bool reconnect = true;
  std::int64_t job_id = 0;  // the first JOB_ID
  // status: every JOB_ID given, in order (job_ids[0] == job_id).
  std::vector<std::int64_t> job_ids;
  std::uint64_t after_seq = 0;
  std::int64_t step_id = 0;
  v1::Targets targets;  // exec/transfer targets; logs --host
  // logs -f: follow the output live (FollowLogs) instead of reading it once (GetIpLogs)
  bool follow = false;
  // list
  ListState list_state = ListState::kAll;
  std::string name_prefix;
  std::int32_t limit = 50;  // jobs per page, 1..500
  bool all_pages = false;
  std::string task_name;
  std::int32_t job_timeout = 0;  // seconds, exec/transfer (--job-timeout)
  // exec/transfer --request-id: jobgw answers a repeated id with the first submit's job. Empty:
  // jobctl makes one up (see new_request_id).
  std::string request_id;
  // --no-request-id: send none (jobgw then does not deduplicate; a replicated jobgw whose Redis
  // is down refuses submits that carry one).
  bool no_request_id = false;
  std::string account_alias;
  std::int64_t account_id = 0;
  // exec
  std::string script_content;
  bool inline_script = false;  // -c/--command given (its text may be empty: refused later)
  std::string script_file;
  v1::ScriptLanguage language = v1::SCRIPT_LANGUAGE_SHELL;
  std::string param;
  bool sensitive = false;
  // Largest script sent; 0: no check. The default is jobgw's default limits.max_script_bytes.
  std::int64_t max_script_bytes = kDefaultMaxScriptBytes;
  // transfer
  std::vector<TransferSourceSpec> sources;
  std::string target_path;
  std::string source_account;
  std::int64_t upload_limit_mb = 0;
  std::int64_t download_limit_mb = 0;
  v1::TransferMode transfer_mode = v1::TRANSFER_MODE_UNSPECIFIED;
  // health: one service to ask about (--service); unset: jobgw itself and JOB through it.
  std::optional<std::string> service;
  bool require_job = false;  // health exits 1 unless JOB is reachable too
  // token: the action ("hash") and whether to make a new random token rather than read one
  std::string token_action;
  bool generate_token = false;
  // plans: filters and the page
  std::string plan_name_filter;
  std::string creator;
  std::int32_t page_size = 0;  // 0: JOB's default
  std::int32_t offset = 0;
  // plan, run-plan
  std::int64_t plan_id = 0;
  // run-plan: --var, --var-id and --hosts-var, in the order given
  std::vector<v1::PlanVariable> plan_variables;
  // operate (confirm: CONFIRM); UNSPECIFIED until the OPERATION word is read
  v1::StepOperation step_operation = v1::STEP_OPERATION_UNSPECIFIED;
  // outputs
  bool all_hosts = false;
  bool per_step = false;
};

// A usage error: the one-line reason jobctl prints before exiting 2.
struct UsageError {
  std::string message;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Parses argv[1..]. Environment: JOBGW_ADDR (address), JOBGW_SCOPE (scope), JOBGW_TOKEN (bearer
// token), read through `env`
// so tests can supply their own.
std::variant<CliCommand, UsageError> parse_command_line(const std::vector<std::string>& args,
                                                        const EnvLookup& env);

// "jobctl-" and 16 hex digits of `random`: the request id exec/transfer send when none is given.
std::string new_request_id(std::uint64_t random);

// Whether `address` is something jobctl can dial: HOST:PORT ([V6]:PORT), or a gRPC target with
// a scheme (dns:, ipv4:, ipv6:, unix:). Else *error names --addr.
bool valid_address(const std::string& address, std::string* error);

// HOSTSPEC: a host id ("101") or CLOUD:IP ("0:192.0.2.1", "0:2001:db8::1": split on the first
// colon).
std::optional<v1::Host> parse_host_spec(const std::string& text, std::string* error);
// A comma-separated list of HOSTSPECs or host ids, appended to `targets`.
bool add_host_specs(const std::string& text, v1::Targets* targets, std::string* error);
bool add_host_ids(const std::string& text, v1::Targets* targets, std::string* error);
// HOSTSPEC:/path; the path starts at the first ":/".
std::optional<TransferSourceSpec> parse_transfer_source(const std::string& text,
                                                        std::string* error);
// TYPE:ID with TYPE biz or biz_set.
std::optional<v1::Scope> parse_scope(const std::string& text, std::string* error);
std::optional<v1::ScriptLanguage> parse_language(const std::string& text);

// --help text of a subcommand ("" for the top level).
std::string usage(const std::string& command);

}  // namespace jobgw::client
