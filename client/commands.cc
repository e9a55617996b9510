#include "client/commands.h"

#include <google/protobuf/util/json_util.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "api/status_names.h"
#include "client/channel.h"
#include "client/gateway_client.h"
#include "client/job_state.h"
#include "client/token_command.h"
#include "client/watch_renderer.h"

namespace jobgw::client {
namespace {

template <typename T>
int rpc_failed(CommandIo& io, const char* rpc, const CallResult<T>& r) {
  io.err << "jobctl: " << rpc << ": " << describe_status(r.status, r.job_code, r.job_request_id)
         << "\n";
  return kExitRpcError;
}

std::string to_json(const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, opts);
  return json;
}

int job_exit_code(const v1::JobSnapshot& snap) {
  return snap.status() == v1::JOB_STATUS_SUCCESS ? kExitOk : kExitJobFailed;
}

ChannelOptions channel_options(const GlobalOptions& g) {
  ChannelOptions o;
  o.address = g.address;
  o.tls = g.tls;
  o.ca_file = g.ca_file;
  o.cert_file = g.cert_file;
  o.key_file = g.key_file;
  o.server_name = g.server_name;
  return o;
}

void print_lines(std::ostream& out, const std::string& prefix, const std::string& text) {
  if (text.empty()) {
    out << prefix << "(no output)\n";
    return;
  }
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out << prefix << line << "\n";
}

void print_ip_logs(std::ostream& out, const v1::GetIpLogsResponse& logs) {
  for (const auto& s : logs.script_logs()) {
    const std::string prefix = "[" + host_label(s.host()) + "] ";
    print_lines(out, prefix, s.content());
    if (s.truncated()) out << prefix << "(log truncated by jobgw: too large for one response)\n";
  }
  for (const auto& f : logs.file_logs()) {
    std::string prefix = "[" + host_label(f.host()) + "] ";
    if (f.entries().empty()) out << prefix << "(no file logs)\n";
    for (const auto& e : f.entries()) {
      std::string line = prefix;
      if (e.mode() == v1::FILE_LOG_MODE_DOWNLOAD) {
        line +=
            "download " + host_address(e.src_host()) + ":" + e.src_path() + " -> " + e.dest_path();
      } else {
        line += "upload " + e.src_path();
      }
      line += " " + api::file_log_status_name(e.status());
      for (const auto* extra : {&e.progress(), &e.size(), &e.speed()}) {
        if (!extra->empty()) line += " " + *extra;
      }
      if (!e.content().empty()) line += ": " + e.content();
      while (!line.empty() && line.back() == '\n') line.pop_back();
      out << line << "\n";
    }
    if (f.truncated()) out << prefix << "(logs truncated by jobgw: too large for one response)\n";
  }
}

// Logs of each step of `snap` (or only `step_id`), for `only` hosts or every host of the step.
int print_logs(GatewayClient& client, const CliCommand& c, const v1::JobSnapshot& snap,
               std::int64_t step_id, const v1::Targets& only, CommandIo& io) {
  for (const auto& step : snap.steps()) {
    if (step_id != 0 && step.step_instance_id() != step_id) continue;
    v1::GetIpLogsRequest req;
    *req.mutable_scope() = c.global.scope;
    req.set_job_instance_id(snap.job_instance_id());
    req.set_step_instance_id(step.step_instance_id());
    req.set_operator_(c.global.operator_name);
    if (only.host_ids_size() > 0 || only.hosts_size() > 0) {
      *req.mutable_host_ids() = only.host_ids();
      *req.mutable_hosts() = only.hosts();
    } else {
      for (const auto& h : step.hosts()) {
        if (h.host().host_id() != 0) {
          req.add_host_ids(h.host().host_id());
        } else {
          *req.add_hosts() = h.host();
        }
      }
    }
    if (req.host_ids_size() == 0 && req.hosts_size() == 0) continue;
    // JSON keeps one object per step, so its pages are merged; text is printed page by page.
    if (c.output == OutputMode::kJson) {
      auto r = client.get_all_ip_logs(req);
      if (!r.ok()) return rpc_failed(io, "GetIpLogs", r);
      io.out << to_json(r.response) << "\n";
    } else {
      auto r = client.for_each_ip_logs_page(
          req, [&](const v1::GetIpLogsResponse& page) { print_ip_logs(io.out, page); });
      if (!r.ok()) return rpc_failed(io, "GetIpLogs", r);
    }
  }
  return kExitOk;
}

struct WatchOutcome {
  int exit_code;
  JobState state;
};

WatchOutcome watch_job(GatewayClient& client, const CliCommand& c, std::int64_t job_id,
                       CommandIo& io) {
  RendererOptions ropts;
  if (c.output == OutputMode::kJson) {
    ropts.mode = RenderMode::kJson;
  } else if (c.output == OutputMode::kPlain || !io.out_is_terminal) {
    ropts.mode = RenderMode::kPlain;
  } else {
    ropts.mode = RenderMode::kTable;
  }
  WatchOutcome outcome{kExitOk, {}};
  WatchRenderer renderer(ropts, io.out, io.err);
  WatchOptions wopts;
  wopts.reconnect = c.reconnect;
  if (c.global.rpc_timeout_set) wopts.deadline = c.global.rpc_timeout;
  wopts.on_reconnect = [&](const grpc::Status& s, std::chrono::milliseconds d, int attempt) {
    renderer.on_reconnect(s, d, attempt);
  };
  auto result = client.watch(
      c.global.scope, job_id, c.after_seq,
      [&](const v1::StatusEvent& e) {
        outcome.state.apply(e);
        renderer.on_event(e, outcome.state);
      },
      wopts);
  renderer.finish(outcome.state);
  if (!result.finished) {
    if (result.status.ok()) {
      io.err << "jobctl: WatchStatus: stream ended before the job finished\n";
    } else {
      io.err << "jobctl: WatchStatus: "
             << describe_status(result.status, result.job_code, result.job_request_id) << "\n";
    }
    outcome.exit_code = kExitRpcError;
    return outcome;
  }
  outcome.exit_code = job_exit_code(outcome.state.snapshot());
  return outcome;
}

// After a submit: print the job, then optionally watch it and print its logs.
int follow_submitted(GatewayClient& client, const CliCommand& c, const v1::JobRef& ref,
                     CommandIo& io) {
  if (c.output == OutputMode::kJson) {
    io.out << to_json(ref) << "\n";
  } else {
    io.out << "job " << ref.job_instance_id() << " step " << ref.step_instance_id() << "\n";
  }
  io.out << std::flush;
  if (!c.watch) return kExitOk;
  auto outcome = watch_job(client, c, ref.job_instance_id(), io);
  if (outcome.exit_code == kExitRpcError || !c.logs) return outcome.exit_code;
  int logs = print_logs(client, c, outcome.state.snapshot(), ref.step_instance_id(), {}, io);
  return logs != kExitOk ? logs : outcome.exit_code;
}

bool read_script(const std::string& path, std::istream& in, std::string* out) {
  std::ostringstream buf;
  if (path == "-") {
    buf << in.rdbuf();
  } else {
    std::ifstream file(path, std::ios::binary);
    if (!file) return false;
    buf << file.rdbuf();
  }
  *out = buf.str();
  return true;
}

// Checked before sending: over jobgw's limit the request would only come back refused, and
// over gRPC's message limit (4 MiB by default) without naming the field.
std::optional<std::string> script_too_big(const CliCommand& c, std::size_t size) {
  if (c.max_script_bytes <= 0 || size <= static_cast<std::size_t>(c.max_script_bytes)) {
    return std::nullopt;
  }
  const std::string source = c.script_file.empty()  ? std::string("-c script")
                             : c.script_file == "-" ? std::string("script from stdin")
                                                    : "script file '" + c.script_file + "'";
  return source + " is " + std::to_string(size) + " bytes, over --max-script-bytes (" +
         std::to_string(c.max_script_bytes) +
         (c.max_script_bytes == kDefaultMaxScriptBytes ? ", jobgw's default limits.max_script_bytes"
                                                       : "") +
         "); raise it if your jobgw's limits.max_script_bytes allows more";
}

int run_exec(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  v1::ExecuteScriptRequest req;
  *req.mutable_scope() = c.global.scope;
  if (!c.script_file.empty()) {
    if (!read_script(c.script_file, io.in, req.mutable_script_content())) {
      io.err << "jobctl: cannot read script file '" << c.script_file << "'\n";
      return kExitUsage;
    }
  } else {
    req.set_script_content(c.script_content);
  }
  if (auto too_big = script_too_big(c, req.script_content().size())) {
    io.err << "jobctl: " << *too_big << "\n";
    return kExitUsage;
  }
  req.set_script_language(c.language);
  req.set_script_param(c.param);
  req.set_param_sensitive(c.sensitive);
  req.set_timeout_seconds(c.job_timeout);
  req.set_account_alias(c.account_alias);
  req.set_account_id(c.account_id);
  *req.mutable_targets() = c.targets;
  req.set_task_name(c.task_name);
  req.set_operator_(c.global.operator_name);
  auto r = client.execute_script(req);
  if (!r.ok()) return rpc_failed(io, "ExecuteScript", r);
  return follow_submitted(client, c, r.response, io);
}

int run_transfer(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  v1::TransferFileRequest req;
  *req.mutable_scope() = c.global.scope;
  // One FileSource per source host, holding every path asked of that host.
  for (const auto& src : c.sources) {
    v1::FileSource* target = nullptr;
    for (auto& fs : *req.mutable_sources()) {
      const auto& t = fs.servers();
      bool same = src.host.ip().empty()
                      ? t.host_ids_size() == 1 && t.host_ids(0) == src.host.host_id()
                      : t.hosts_size() == 1 && same_host(t.hosts(0), src.host);
      if (same) target = &fs;
    }
    if (target == nullptr) {
      target = req.add_sources();
      if (src.host.ip().empty()) {
        target->mutable_servers()->add_host_ids(src.host.host_id());
      } else {
        *target->mutable_servers()->add_hosts() = src.host;
      }
      target->set_account_alias(c.source_account);
    }
    target->add_files(src.path);
  }
  req.set_target_path(c.target_path);
  *req.mutable_targets() = c.targets;
  req.set_account_alias(c.account_alias);
  req.set_account_id(c.account_id);
  req.set_timeout_seconds(c.job_timeout);
  req.set_upload_limit_mb(c.upload_limit_mb);
  req.set_download_limit_mb(c.download_limit_mb);
  req.set_transfer_mode(c.transfer_mode);
  req.set_task_name(c.task_name);
  req.set_operator_(c.global.operator_name);
  auto r = client.transfer_file(req);
  if (!r.ok()) return rpc_failed(io, "TransferFile", r);
  return follow_submitted(client, c, r.response, io);
}

int run_watch(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  return watch_job(client, c, c.job_id, io).exit_code;
}

CallResult<v1::JobSnapshot> read_status(GatewayClient& client, const CliCommand& c) {
  v1::GetJobStatusRequest req;
  *req.mutable_scope() = c.global.scope;
  req.set_job_instance_id(c.job_id);
  req.set_operator_(c.global.operator_name);
  return client.get_job_status(req);
}

int run_status(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  auto r = read_status(client, c);
  if (!r.ok()) return rpc_failed(io, "GetJobStatus", r);
  if (c.output == OutputMode::kJson) {
    io.out << to_json(r.response) << "\n";
  } else {
    JobState state;
    state.replace(r.response);
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    for (const auto& line : table_lines(state, INT_MAX, now)) io.out << line << "\n";
  }
  return r.response.finished() ? job_exit_code(r.response) : kExitOk;
}

int run_logs(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  auto r = read_status(client, c);
  if (!r.ok()) return rpc_failed(io, "GetJobStatus", r);
  bool found = c.step_id == 0;
  for (const auto& s : r.response.steps()) found = found || s.step_instance_id() == c.step_id;
  if (!found) {
    io.err << "jobctl: job " << c.job_id << " has no step " << c.step_id << "\n";
    return kExitRpcError;
  }
  return print_logs(client, c, r.response, c.step_id, c.targets, io);
}

int run_terminate(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  v1::TerminateJobRequest req;
  *req.mutable_scope() = c.global.scope;
  req.set_job_instance_id(c.job_id);
  req.set_operator_(c.global.operator_name);
  auto r = client.terminate_job(req);
  if (!r.ok()) return rpc_failed(io, "TerminateJob", r);
  io.out << "terminating job " << r.response.job_instance_id() << "\n";
  return kExitOk;
}

int run_health(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  auto r = client.check_health(c.service);
  if (!r.ok()) return rpc_failed(io, "Health/Check", r);
  io.out << serving_status_name(r.response) << "\n";
  return r.response == ServingStatus::kServing ? kExitOk : kExitJobFailed;
}

}  // namespace

int run_command(const CliCommand& c, CommandIo io) {
  if (c.name == "token") return run_token(c, io);
  std::string error;
  auto channel = open_channel(channel_options(c.global), &error);
  if (!channel) {
    io.err << "jobctl: " << error << "\n";
    return kExitUsage;
  }
  GatewayClient client(std::move(channel), c.global.rpc_timeout);
  client.set_bearer_token(c.global.token);
  if (c.name == "exec") return run_exec(c, client, io);
  if (c.name == "transfer") return run_transfer(c, client, io);
  if (c.name == "watch") return run_watch(c, client, io);
  if (c.name == "status") return run_status(c, client, io);
  if (c.name == "logs") return run_logs(c, client, io);
  if (c.name == "terminate") return run_terminate(c, client, io);
  if (c.name == "health") return run_health(c, client, io);
  io.err << "jobctl: unknown command '" << c.name << "'\n";
  return kExitUsage;
}

int jobctl_main(const std::vector<std::string>& args, CommandIo io) {
  auto parsed = parse_command_line(args, [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  });
  if (auto* e = std::get_if<UsageError>(&parsed)) {
    io.err << "jobctl: " << e->message << "\n";
    return kExitUsage;
  }
  const auto& command = std::get<CliCommand>(parsed);
  if (command.help) {
    io.out << usage(command.name);
    return kExitOk;
  }
  return run_command(command, io);
}

}  // namespace jobgw::client
