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
  std::chrono::milliseconds rpc_timeout{30000};
  bool rpc_timeout_set = false;  // watch has no deadline unless one was asked for
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
  std::string
      name;  // exec, transfer, watch, logs, list, status, terminate, health, token; "" = top
  bool help = false;
  GlobalOptions global;
  OutputMode output = OutputMode::kAuto;
  bool watch = false;
  bool logs = false;
  bool reconnect = true;
  std::int64_t job_id = 0;
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
  std::int32_t job_timeout = 0;  // seconds, exec/transfer
  std::string account_alias;
  std::int64_t account_id = 0;
  // exec
  std::string script_content;
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
  // health
  std::string service = "jobgw.v1.JobGateway";
  // token: the action ("hash") and whether to make a new random token rather than read one
  std::string token_action;
  bool generate_token = false;
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
