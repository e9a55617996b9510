#include "client/follow_command.h"

#include "client/command_output.h"
#include "client/interrupt.h"

namespace jobgw::client {
namespace {

// Hosts named with --host (0: none, every host of the step).
int named_hosts(const v1::Targets& t) { return t.host_ids_size() + t.hosts_size(); }

// Whether lines get "[HOST] ": more than one host is followed. Without --host, the step's hosts
// as JOB reported them; not known yet (no steps reported) counts as several.
bool several_hosts(const CliCommand& c, const v1::JobSnapshot& snap) {
  if (named_hosts(c.targets) > 0) return named_hosts(c.targets) > 1;
  if (snap.steps().empty()) return true;
  for (const auto& step : snap.steps()) {
    if (c.step_id == 0 || step.step_instance_id() == c.step_id) {
      return step.hosts().empty() || step.hosts_size() > 1;
    }
  }
  return true;
}

WatchOptions stream_options(const CliCommand& c) {
  WatchOptions o;
  o.reconnect = c.reconnect;
  // Like a watch, a follow lasts as long as the job: --rpc-timeout bounds calls, not streams.
  return o;
}

}  // namespace

int run_follow_logs(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  v1::GetJobStatusRequest status_request;
  *status_request.mutable_scope() = c.global.scope;
  status_request.set_job_instance_id(c.job_id);
  status_request.set_operator_(c.global.operator_name);
  auto status = client.get_job_status(status_request);
  if (!status.ok()) return report_rpc_error(io.err, "GetJobStatus", status);
  const auto& snap = status.response;
  bool step_found = c.step_id == 0 || snap.steps().empty();
  for (const auto& s : snap.steps()) step_found = step_found || s.step_instance_id() == c.step_id;
  if (!step_found) {
    io.err << "jobctl: job " << c.job_id << " has no step " << c.step_id << "\n";
    return kExitRpcError;
  }

  v1::FollowLogsRequest request;
  *request.mutable_scope() = c.global.scope;
  request.set_job_instance_id(c.job_id);
  request.set_step_instance_id(c.step_id);
  *request.mutable_host_ids() = c.targets.host_ids();
  *request.mutable_hosts() = c.targets.hosts();
  request.set_operator_(c.global.operator_name);

  LogPrinterOptions printer_options;
  printer_options.prefix_hosts = several_hosts(c, snap);
  printer_options.json = c.output == OutputMode::kJson;
  LogPrinter printer(printer_options, io.out, io.err);
  WatchOptions options = stream_options(c);
  options.on_reconnect = [&printer](const grpc::Status& s, std::chrono::milliseconds d, int n) {
    printer.on_reconnect(s, d, n);
  };
  options.on_reconnected = [&printer](int n) { printer.on_reconnected(n); };
  StreamCancel cancel;
  options.cancel = &cancel;
  InterruptWatch interrupt([&cancel] { cancel.cancel(); });
  auto result = client.follow_logs(
      request, [&printer](const v1::LogEvent& e) { printer.on_event(e); }, options);
  printer.finish();
  if (interrupt.interrupted() && !result.status.ok()) {
    io.out << std::flush;
    // The terminal echoed ^C where the cursor was: the note starts on a line of its own.
    if (io.out_is_terminal) io.err << "\n";
    io.err << interrupted_note(c, c.job_id, snap.finished(), true) << std::flush;
    return kExitInterrupted;
  }
  if (!result.status.ok()) {
    return report_rpc_error(io.err, "FollowLogs", result.status, result.job_code,
                            result.job_request_id);
  }
  if (printer.hosts_ended() == 0 || !printer.every_host_ended()) {
    io.err << "jobctl: FollowLogs: the stream ended before every host ended\n";
    return kExitRpcError;
  }
  return printer.all_hosts_succeeded() ? kExitOk : kExitJobFailed;
}

v1::FollowLogsRequest live_logs_request(const CliCommand& c, const v1::JobRef& ref,
                                        std::string* note) {
  v1::FollowLogsRequest request;
  *request.mutable_scope() = c.global.scope;
  request.set_job_instance_id(ref.job_instance_id());
  request.set_step_instance_id(ref.step_instance_id());
  request.set_operator_(c.global.operator_name);
  note->clear();
  // JOB runs on the host ids when there are any, else on the cloud:IP hosts (see Targets).
  const auto& t = c.targets;
  const int targets = t.host_ids_size() > 0 ? t.host_ids_size() : t.hosts_size();
  if (targets <= kMaxLiveLogHosts) return request;
  for (int i = 0; i < kMaxLiveLogHosts; ++i) {
    if (t.host_ids_size() > 0) {
      request.add_host_ids(t.host_ids(i));
    } else {
      *request.add_hosts() = t.hosts(i);
    }
  }
  *note = "following the output of the first " + std::to_string(kMaxLiveLogHosts) + " of " +
          std::to_string(targets) + " hosts; jobctl logs " + std::to_string(ref.job_instance_id()) +
          " prints every host's";
  return request;
}

BackgroundLogs::BackgroundLogs(GatewayClient& client, v1::FollowLogsRequest request,
                               WatchOptions options, LogPrinterOptions printer_options,
                               std::ostream& out, std::ostream& err, std::mutex& output_mu)
    : output_mu_(output_mu) {
  printer_.emplace(printer_options, out, err);
  options.on_reconnect = [this](const grpc::Status& s, std::chrono::milliseconds d, int n) {
    std::lock_guard<std::mutex> lock(output_mu_);
    printer_->on_reconnect(s, d, n);
  };
  options.on_reconnected = [this](int n) {
    std::lock_guard<std::mutex> lock(output_mu_);
    printer_->on_reconnected(n);
  };
  start(client, std::move(request), std::move(options),
        [this](const v1::LogEvent& e) { printer_->on_event(e); });
}

BackgroundLogs::BackgroundLogs(GatewayClient& client, v1::FollowLogsRequest request,
                               WatchOptions options,
                               std::function<void(const v1::LogEvent&)> on_event,
                               std::function<void()> on_reconnect, std::mutex& output_mu)
    : output_mu_(output_mu) {
  options.on_reconnect = [this, on_reconnect = std::move(on_reconnect)](
                             const grpc::Status&, std::chrono::milliseconds, int) {
    std::lock_guard<std::mutex> lock(output_mu_);
    if (on_reconnect) on_reconnect();
  };
  start(client, std::move(request), std::move(options), std::move(on_event));
}

void BackgroundLogs::start(GatewayClient& client, v1::FollowLogsRequest request,
                           WatchOptions options,
                           std::function<void(const v1::LogEvent&)> on_event) {
  options.cancel = &cancel_;
  thread_ = std::thread(
      [this, &client, request = std::move(request), options, on_event = std::move(on_event)] {
        auto result = client.follow_logs(
            request,
            [this, &on_event](const v1::LogEvent& e) {
              std::lock_guard<std::mutex> lock(output_mu_);
              on_event(e);
            },
            options);
        std::lock_guard<std::mutex> lock(mu_);
        result_ = std::move(result);
        done_ = true;
        done_cv_.notify_all();
      });
}

BackgroundLogs::~BackgroundLogs() {
  if (thread_.joinable()) {
    cancel_.cancel();
    thread_.join();
  }
}

FollowLogsResult BackgroundLogs::finish(std::chrono::milliseconds grace, bool* timed_out) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    *timed_out = !done_cv_.wait_for(lock, grace, [this] { return done_; });
  }
  if (*timed_out) cancel_.cancel();
  return join();
}

FollowLogsResult BackgroundLogs::cancel() {
  cancel_.cancel();
  return join();
}

FollowLogsResult BackgroundLogs::join() {
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(output_mu_);
  if (printer_) printer_->finish();
  return result_;
}

}  // namespace jobgw::client
