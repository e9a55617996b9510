#include "client/commands.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>

#include "api/status_names.h"
#include "client/channel.h"
#include "client/command_output.h"
#include "client/follow_command.h"
#include "client/gateway_client.h"
#include "client/interrupt.h"
#include "client/job_state.h"
#include "client/list_command.h"
#include "client/log_printer.h"
#include "client/plan_commands.h"
#include "client/terminal_style.h"
#include "client/ticker.h"
#include "client/token_command.h"
#include "client/watch_renderer.h"

namespace jobgw::client {
namespace {

template <typename T>
int rpc_failed(CommandIo& io, const char* rpc, const CallResult<T>& r) {
  return report_rpc_error(io.err, rpc, r);
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
    for (const auto& e : f.entries()) out << prefix << file_log_text(e) << "\n";
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

// A live table redraws about this often, so elapsed times move between events.
constexpr std::chrono::milliseconds kTableTick{250};
// How long a finished transfer's final frame waits for the last progress of its hosts.
constexpr std::chrono::milliseconds kProgressGrace{2000};

RendererOptions renderer_options(const CliCommand& c, const CommandIo& io) {
  RendererOptions ropts;
  if (c.output == OutputMode::kJson) {
    ropts.mode = RenderMode::kJson;
  } else if (c.output == OutputMode::kPlain || !io.out_is_terminal) {
    ropts.mode = RenderMode::kPlain;
  } else {
    ropts.mode = RenderMode::kTable;
    ropts.colour = colours_wanted(io.out_is_terminal);
    ropts.terminal_size = stdout_terminal_size;
  }
  ropts.verbose = c.verbose;
  ropts.command_flags = connection_flags(c, false);
  return ropts;
}

// No deadline: --rpc-timeout bounds calls, and a watch lasts as long as its job.
WatchOptions watch_options(const CliCommand& c) {
  WatchOptions wopts;
  wopts.reconnect = c.reconnect;
  return wopts;
}

// The exit code of a watch that ended with `result`: the job's outcome once it finished.
int watch_exit_code(const WatchResult& result, const JobState& state, CommandIo& io) {
  if (result.finished) return job_exit_code(state.snapshot());
  if (result.status.ok()) {
    io.err << "jobctl: WatchStatus: stream ended before the job finished\n";
  } else {
    io.err << "jobctl: WatchStatus: "
           << describe_status(result.status, result.job_code, result.job_request_id) << "\n";
  }
  return kExitRpcError;
}

// Watches job `job_id` to its end. `transfer`: the job's file step, whose per-host progress a
// live table shows from a FollowLogs stream of its own (null: none). Ctrl-C ends the watch
// (exit 130), telling how to watch again or terminate the job.
WatchOutcome watch_job(GatewayClient& client, const CliCommand& c, std::int64_t job_id,
                       CommandIo& io, const v1::JobRef* transfer = nullptr) {
  WatchOutcome outcome{kExitOk, {}};
  // Events, ticks and transfer progress come from three threads; the renderer takes one at a
  // time.
  std::mutex mu;
  const RendererOptions ropts = renderer_options(c, io);
  WatchRenderer renderer(ropts, io.out, io.err);
  StreamCancel cancel;
  WatchOptions wopts = watch_options(c);
  wopts.cancel = &cancel;
  wopts.on_reconnect = [&](const grpc::Status& s, std::chrono::milliseconds d, int attempt) {
    std::lock_guard<std::mutex> lock(mu);
    renderer.on_reconnect(s, d, attempt);
  };
  wopts.on_reconnected = [&](int attempts) {
    std::lock_guard<std::mutex> lock(mu);
    renderer.on_reconnected(attempts);
  };
  const bool live_table = ropts.mode == RenderMode::kTable;
  std::optional<BackgroundLogs> progress;
  if (live_table && transfer != nullptr) {
    std::string note;  // the table shows at most the first hosts anyway
    WatchOptions popts = watch_options(c);
    progress.emplace(
        client, live_logs_request(c, *transfer, &note), popts,
        [&renderer](const v1::LogEvent& e) { renderer.on_log_event(e); },
        [&renderer] { renderer.on_log_stream_reconnect(); }, mu);
  }
  InterruptWatch interrupt([&] {
    cancel.cancel();
    if (progress) progress->request_cancel();
  });
  std::optional<Ticker> ticker;
  if (live_table) {
    ticker.emplace(kTableTick, [&] {
      std::lock_guard<std::mutex> lock(mu);
      renderer.tick(outcome.state);
    });
  }
  auto result = client.watch(
      c.global.scope, job_id, c.after_seq,
      [&](const v1::StatusEvent& e) {
        std::lock_guard<std::mutex> lock(mu);
        outcome.state.apply(e);
        renderer.on_event(e, outcome.state);
      },
      wopts);
  ticker.reset();
  // Transfer progress is a nicety: however its stream ended, the job's outcome decides. A
  // finished job's stream ends by itself once its last FILE entries are sent, which can come
  // just after FINISHED; the final frame waits briefly for them, or a host that succeeded
  // would stay at its last reported percent.
  if (progress) {
    bool timed_out = false;
    const bool wait = result.finished && !interrupt.interrupted();
    (void)(wait ? progress->finish(kProgressGrace, &timed_out) : progress->cancel());
  }
  renderer.finish(outcome.state);
  if (interrupt.interrupted() && !result.finished) {
    io.out << std::flush;
    // The terminal echoed ^C where the cursor was: the note starts on a line of its own.
    if (io.out_is_terminal) io.err << "\n";
    io.err << interrupted_note(c, job_id, outcome.state.finished(), false) << std::flush;
    outcome.exit_code = kExitInterrupted;
    return outcome;
  }
  outcome.exit_code = watch_exit_code(result, outcome.state, io);
  return outcome;
}

// exec/transfer --watch --logs: the job's status watched as `jobctl watch` shows it while its
// step's output is followed live on another thread, each line prefixed by its host. The status
// summary (the FINISHED line, or the final table) waits for the logs' end so it stays last; a
// terminal's table is drawn only then, as log lines would scroll it apart. Exit codes as
// before: the job's outcome, 3 when either stream failed, 130 after Ctrl-C.
int watch_with_live_logs(GatewayClient& client, const CliCommand& c, const v1::JobRef& ref,
                         CommandIo& io) {
  std::mutex output_mu;
  std::string note;
  auto request = live_logs_request(c, ref, &note);
  if (!note.empty()) io.err << "jobctl: " << note << "\n" << std::flush;
  LogPrinterOptions printer_options;
  printer_options.prefix_hosts = true;
  BackgroundLogs logs(client, request, watch_options(c), printer_options, io.out, io.err,
                      output_mu);

  RendererOptions ropts = renderer_options(c, io);
  ropts.final_table_only = true;
  WatchRenderer renderer(ropts, io.out, io.err);
  JobState state;
  std::optional<v1::StatusEvent> finished;
  StreamCancel cancel;
  WatchOptions wopts = watch_options(c);
  wopts.cancel = &cancel;
  // A terminal draws only the final table, from FINISHED's snapshot: no host change is shown
  // before it, so none is asked for (plain and JSON output print each one).
  if (ropts.mode == RenderMode::kTable) wopts.detail = v1::WATCH_DETAIL_PROGRESS;
  wopts.on_reconnect = [&](const grpc::Status& s, std::chrono::milliseconds d, int attempt) {
    std::lock_guard<std::mutex> lock(output_mu);
    renderer.on_reconnect(s, d, attempt);
  };
  wopts.on_reconnected = [&](int attempts) {
    std::lock_guard<std::mutex> lock(output_mu);
    renderer.on_reconnected(attempts);
  };
  InterruptWatch interrupt([&] {
    cancel.cancel();
    logs.request_cancel();
  });
  auto result = client.watch(
      c.global.scope, ref.job_instance_id(), 0,
      [&](const v1::StatusEvent& e) {
        state.apply(e);
        if (e.kind() == v1::EVENT_KIND_FINISHED) {
          finished = e;
          return;
        }
        std::lock_guard<std::mutex> lock(output_mu);
        renderer.on_event(e, state);
      },
      wopts);

  // Once the job finished, jobgw ends the logs as soon as it read every host's last bytes; the
  // grace only bounds a jobgw that never does.
  bool logs_timed_out = false;
  FollowLogsResult logs_result =
      result.finished ? logs.finish(c.global.rpc_timeout, &logs_timed_out) : logs.cancel();
  if (finished) renderer.on_event(*finished, state);
  renderer.finish(state);
  if (interrupt.interrupted() && (!result.finished || !logs_result.status.ok())) {
    io.out << std::flush;
    // The terminal echoed ^C where the cursor was: the note starts on a line of its own.
    if (io.out_is_terminal) io.err << "\n";
    io.err << interrupted_note(c, ref.job_instance_id(), state.finished(), false) << std::flush;
    return kExitInterrupted;
  }
  int code = watch_exit_code(result, state, io);
  if (code == kExitRpcError) return code;
  if (logs_timed_out) {
    io.err << "jobctl: FollowLogs: the output had not ended "
           << std::chrono::duration_cast<std::chrono::seconds>(c.global.rpc_timeout).count()
           << "s after the job; jobctl logs " << ref.job_instance_id() << " prints it\n";
    return kExitRpcError;
  }
  // A jobgw from before FollowLogs: the logs once the job ended, as jobctl did then.
  if (logs_result.status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    int printed = print_logs(client, c, state.snapshot(), ref.step_instance_id(), {}, io);
    return printed != kExitOk ? printed : code;
  }
  if (!logs_result.status.ok()) {
    return report_rpc_error(io.err, "FollowLogs", logs_result.status, logs_result.job_code,
                            logs_result.job_request_id);
  }
  return code;
}

// After a submit: print the job, then optionally watch it and print its logs.
int follow_submitted_job(GatewayClient& client, const CliCommand& c, const v1::JobRef& ref,
                         const std::string& request_id, CommandIo& io) {
  if (c.output == OutputMode::kJson) {
    std::string json = to_json(ref);
    // JobRef has no request_id: it is added as one more field of the same object.
    if (!request_id.empty()) {
      json.insert(json.size() - 1, std::string(json.size() > 2 ? "," : "") + "\"request_id\":\"" +
                                       json_escape(request_id) + "\"");
    }
    io.out << json << "\n";
  } else {
    io.out << "job " << ref.job_instance_id();
    // A plan's job names no single step.
    if (ref.step_instance_id() != 0) io.out << " step " << ref.step_instance_id();
    io.out << "\n";
  }
  io.out << std::flush;
  if (!c.watch) return kExitOk;
  // A plan's steps run one after another, and a live follow covers one step: its logs are
  // printed step by step once the job ended.
  const bool plan = c.name == "run-plan";
  // JSON output keeps its records as they were: status events, then the logs at the end.
  if (c.logs && !plan && c.output != OutputMode::kJson) {
    return watch_with_live_logs(client, c, ref, io);
  }
  auto outcome =
      watch_job(client, c, ref.job_instance_id(), io, c.name == "transfer" ? &ref : nullptr);
  if (outcome.exit_code == kExitRpcError || !c.logs) return outcome.exit_code;
  int logs =
      print_logs(client, c, outcome.state.snapshot(), plan ? 0 : ref.step_instance_id(), {}, io);
  return logs != kExitOk ? logs : outcome.exit_code;
}

// The script at `path` ('-': stdin), or nullopt with *error saying why it could not be read.
std::optional<std::string> read_script(const std::string& path, std::istream& in,
                                       std::string* error) {
  std::ostringstream buf;
  if (path == "-") {
    buf << in.rdbuf();
    return buf.str();
  }
  errno = 0;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    *error = "cannot read script file " + path + ": " +
             (errno != 0 ? std::strerror(errno) : "cannot be opened");
    return std::nullopt;
  }
  buf << file.rdbuf();
  if (file.bad()) {
    *error = "cannot read script file " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  return buf.str();
}

bool blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

// submit_request_id (commands.h).
std::string new_submit_request_id(const CliCommand& c, CommandIo& io) {
  if (!c.request_id.empty() || c.no_request_id) return c.request_id;
  std::uint64_t random = 0;
  if (io.random) {
    random = io.random();
  } else {
    std::random_device device;
    random = (static_cast<std::uint64_t>(device()) << 32) | device();
  }
  std::string id = new_request_id(random);
  if (c.output != OutputMode::kJson) {
    io.err << "request id: " << id << " (rerun with --request-id to reuse)\n" << std::flush;
  }
  return id;
}

// A failed submit in --json mode still says the id it carried (plain mode printed it already).
template <typename T>
int submit_failed(CommandIo& io, const CliCommand& c, const char* rpc, const CallResult<T>& r,
                  const std::string& request_id) {
  if (c.output == OutputMode::kJson && c.request_id.empty() && !request_id.empty()) {
    io.err << "request id: " << request_id << " (rerun with --request-id to reuse)\n";
  }
  return rpc_failed(io, rpc, r);
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
    std::string error;
    auto script = read_script(c.script_file, io.in, &error);
    if (!script) {
      io.err << "jobctl: " << error << "\n";
      return kExitUsage;
    }
    req.set_script_content(std::move(*script));
  } else {
    req.set_script_content(c.script_content);
  }
  // JOB would refuse it only after the call; the message names where the script came from.
  if (blank(req.script_content())) {
    io.err << "jobctl: the script is empty ("
           << (c.script_file.empty()  ? std::string("-c/--command")
               : c.script_file == "-" ? std::string("--file -: nothing on stdin")
                                      : "--file " + c.script_file)
           << ")\n";
    return kExitUsage;
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
  req.set_request_id(new_submit_request_id(c, io));
  auto r = client.execute_script(req);
  if (!r.ok()) return submit_failed(io, c, "ExecuteScript", r, req.request_id());
  return follow_submitted_job(client, c, r.response, req.request_id(), io);
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
  req.set_request_id(new_submit_request_id(c, io));
  auto r = client.transfer_file(req);
  if (!r.ok()) return submit_failed(io, c, "TransferFile", r, req.request_id());
  return follow_submitted_job(client, c, r.response, req.request_id(), io);
}

int run_watch(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  return watch_job(client, c, c.job_id, io).exit_code;
}

CallResult<v1::JobSnapshot> read_status(GatewayClient& client, const CliCommand& c,
                                        std::int64_t job_id) {
  v1::GetJobStatusRequest req;
  *req.mutable_scope() = c.global.scope;
  req.set_job_instance_id(job_id);
  req.set_operator_(c.global.operator_name);
  return client.get_job_status(req);
}

CallResult<v1::JobSnapshot> read_status(GatewayClient& client, const CliCommand& c) {
  return read_status(client, c, c.job_id);
}

// One job of `jobctl status`: its block (text) or JSON object, and its exit code.
// *unreachable: jobgw could not be reached (said once; the other jobs would say it again).
int status_of(GatewayClient& client, const CliCommand& c, std::int64_t job_id, bool several,
              std::string* json, bool* unreachable, CommandIo& io) {
  auto r = read_status(client, c, job_id);
  if (!r.ok()) {
    *unreachable = is_unreachable(r.status);
    if (several && !*unreachable) {
      io.err << "jobctl: GetJobStatus: job " << job_id << ": "
             << describe_status(r.status, r.job_code, r.job_request_id) << "\n";
      *json = "{\"job_instance_id\":\"" + std::to_string(job_id) + "\",\"error\":\"" +
              json_escape(describe_status(r.status, r.job_code, r.job_request_id)) + "\"}";
      return kExitRpcError;
    }
    return rpc_failed(io, "GetJobStatus", r);
  }
  if (c.output == OutputMode::kJson) {
    *json = to_json(r.response);
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

// Several JOB_IDs: a block each (a blank line between), or one JSON array; the worst exit code.
int run_status(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  std::vector<std::int64_t> ids = c.job_ids;
  if (ids.empty()) ids.push_back(c.job_id);
  const bool several = ids.size() > 1;
  int worst = kExitOk;
  std::vector<std::string> objects;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0 && c.output != OutputMode::kJson) io.out << "\n";
    std::string json;
    bool unreachable = false;
    worst = std::max(worst, status_of(client, c, ids[i], several, &json, &unreachable, io));
    if (unreachable) return worst;
    if (!json.empty()) objects.push_back(std::move(json));
    io.out << std::flush;
  }
  if (c.output == OutputMode::kJson) {
    if (!several) {
      for (const auto& o : objects) io.out << o << "\n";
    } else {
      io.out << "[";
      for (std::size_t i = 0; i < objects.size(); ++i) io.out << (i ? "," : "") << objects[i];
      io.out << "]\n";
    }
  }
  return worst;
}

int run_logs(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  if (c.follow) return run_follow_logs(c, client, io);
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

// The health service name jobgw reports JOB's reachability under.
constexpr char kJobHealthService[] = "jobgw.v1.JOB";

// jobgw's own state (what a load balancer asks: it stays SERVING while JOB is down) and JOB's
// as jobgw sees it. Exit 0 when jobgw serves; --require-job also wants JOB SERVING.
int run_health(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  if (c.service) {
    auto r = client.check_health(*c.service);
    if (!r.ok()) return rpc_failed(io, "Health/Check", r);
    io.out << serving_status_name(r.response) << "\n";
    return r.response == ServingStatus::kServing ? kExitOk : kExitJobFailed;
  }
  auto gateway = client.check_health("jobgw.v1.JobGateway");
  if (!gateway.ok()) return rpc_failed(io, "Health/Check", gateway);
  io.out << "jobgw: " << serving_status_name(gateway.response) << "\n";
  auto job = client.check_health(kJobHealthService);
  bool job_serving = false;
  if (job.ok()) {
    job_serving = job.response == ServingStatus::kServing;
    io.out << "JOB: " << serving_status_name(job.response)
           << (job.response == ServingStatus::kNotServing ? " (jobgw cannot reach JOB)" : "")
           << "\n";
  } else if (job.status.error_code() == grpc::StatusCode::NOT_FOUND) {
    io.out << "JOB: unknown (this jobgw does not report it)\n";
  } else {
    io.out << "JOB: unknown (" << describe_status(job.status, job.job_code, job.job_request_id)
           << ")\n";
  }
  if (gateway.response != ServingStatus::kServing) return kExitJobFailed;
  return c.require_job && !job_serving ? kExitJobFailed : kExitOk;
}

}  // namespace

int follow_submitted(GatewayClient& client, const CliCommand& command, const v1::JobRef& ref,
                     const std::string& request_id, CommandIo& io) {
  return follow_submitted_job(client, command, ref, request_id, io);
}

std::string submit_request_id(const CliCommand& command, CommandIo& io) {
  return new_submit_request_id(command, io);
}

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
  client.set_address(c.global.address);
  if (c.name == "exec") return run_exec(c, client, io);
  if (c.name == "transfer") return run_transfer(c, client, io);
  if (c.name == "watch") return run_watch(c, client, io);
  if (c.name == "status") return run_status(c, client, io);
  if (c.name == "logs") return run_logs(c, client, io);
  if (c.name == "list") return run_list(c, client, io);
  if (c.name == "terminate") return run_terminate(c, client, io);
  if (c.name == "health") return run_health(c, client, io);
  if (c.name == "plans") return run_plans(c, client, io);
  if (c.name == "plan") return run_plan(c, client, io);
  if (c.name == "run-plan") return run_run_plan(c, client, io);
  if (c.name == "operate" || c.name == "confirm") return run_operate(c, client, io);
  if (c.name == "outputs") return run_outputs(c, client, io);
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
  if (command.version) {
    io.out << "jobctl " << JOBCTL_VERSION << " (revision " << JOBCTL_REVISION << ")\n";
    return kExitOk;
  }
  for (const auto& warning : command.warnings) io.err << "jobctl: warning: " << warning << "\n";
  if (io.configure_logging) io.configure_logging(command.verbose);
  return run_command(command, io);
}

}  // namespace jobgw::client
