#include "server/proto_mapping.h"

namespace jobgw::server {
namespace {

// static_cast keeps unknown numbers: the generated enums are open (proto3), so any int32 is a
// valid value of the field even when the enum does not name it.
v1::JobStatus job_status(int status) { return static_cast<v1::JobStatus>(status); }
v1::HostStatus host_status(int status) { return static_cast<v1::HostStatus>(status); }

}  // namespace

void to_proto(const core::Scope& scope, v1::Scope* out) {
  out->set_type(scope.type);
  out->set_id(scope.id);
}

void to_proto(const core::Host& host, v1::Host* out) {
  out->set_host_id(host.host_id);
  out->set_cloud_id(host.cloud_id);
  out->set_ip(host.ip);
}

void to_proto(const core::HostResult& host, v1::HostResult* out) {
  to_proto(host.host, out->mutable_host());
  out->set_status(host_status(host.status));
  out->set_tag(host.tag);
  out->set_exit_code(host.exit_code);
  out->set_error_code(host.error_code);
  out->set_start_time_ms(host.start_time_ms);
  out->set_end_time_ms(host.end_time_ms);
  out->set_total_time_ms(host.total_time_ms);
}

void to_proto(const core::StepSnapshot& step, v1::StepSnapshot* out) {
  out->set_step_instance_id(step.step_instance_id);
  out->set_type(static_cast<v1::StepType>(step.type));
  out->set_name(step.name);
  out->set_status(job_status(step.status));
  out->set_execute_count(step.execute_count);
  out->set_create_time_ms(step.create_time_ms);
  out->set_start_time_ms(step.start_time_ms);
  out->set_end_time_ms(step.end_time_ms);
  out->set_total_time_ms(step.total_time_ms);
  out->clear_hosts();
  out->mutable_hosts()->Reserve(static_cast<int>(step.hosts.size()));
  for (const auto& host : step.hosts) to_proto(host, out->add_hosts());
}

void to_proto(const core::JobSnapshot& job, v1::JobSnapshot* out) {
  out->set_job_instance_id(job.job_instance_id);
  to_proto(job.scope, out->mutable_scope());
  out->set_name(job.name);
  out->set_status(job_status(job.status));
  out->set_finished(job.finished);
  out->set_create_time_ms(job.create_time_ms);
  out->set_start_time_ms(job.start_time_ms);
  out->set_end_time_ms(job.end_time_ms);
  out->set_total_time_ms(job.total_time_ms);
  out->clear_steps();
  out->mutable_steps()->Reserve(static_cast<int>(job.steps.size()));
  for (const auto& step : job.steps) to_proto(step, out->add_steps());
}

void to_proto(const core::JobRef& ref, v1::JobRef* out) {
  out->set_job_instance_id(ref.job_instance_id);
  out->set_step_instance_id(ref.step_instance_id);
  out->set_job_instance_name(ref.job_instance_name);
}

void to_proto(const core::FileLog& log, v1::FileLog* out) {
  out->set_mode(static_cast<v1::FileLogMode>(log.mode));
  to_proto(log.src, out->mutable_src_host());
  out->set_src_path(log.src_path);
  // JOB sets dest_* on download entries only; an upload entry leaves dest_host unset rather than
  // claiming a host with id 0.
  if (log.dest.host_id != 0 || !log.dest.ip.empty() || log.dest.cloud_id != 0) {
    to_proto(log.dest, out->mutable_dest_host());
  } else {
    out->clear_dest_host();
  }
  out->set_dest_path(log.dest_path);
  out->set_status(static_cast<v1::FileLogStatus>(log.status));
  out->set_content(log.content);
  out->set_size(log.size);
  out->set_speed(log.speed);
  out->set_progress(log.progress);
}

void to_proto(const core::ScriptLog& log, v1::ScriptLog* out) {
  to_proto(log.host, out->mutable_host());
  out->set_content(log.content);
  out->set_truncated(log.truncated);
}

void to_proto(const core::FileHostLog& log, v1::FileHostLog* out) {
  to_proto(log.host, out->mutable_host());
  out->clear_entries();
  for (const auto& entry : log.entries) to_proto(entry, out->add_entries());
  out->set_truncated(log.truncated);
}

void to_proto(const core::IpLogs& logs, v1::GetIpLogsResponse* out) {
  out->set_log_type(static_cast<v1::LogType>(logs.log_type));
  out->clear_script_logs();
  out->clear_file_logs();
  for (const auto& log : logs.script_logs) to_proto(log, out->add_script_logs());
  for (const auto& host_log : logs.file_logs) to_proto(host_log, out->add_file_logs());
}

void to_proto(const core::WatchEvent& event, v1::StatusEvent* out) {
  out->set_seq(event.seq);
  out->set_kind(static_cast<v1::EventKind>(static_cast<int>(event.kind)));
  out->set_observed_at_ms(event.observed_at_ms);
  out->set_resumed(event.resumed);
  if (event.snapshot != nullptr) {
    to_proto(*event.snapshot, out->mutable_snapshot());
  } else {
    out->clear_snapshot();
  }
  out->clear_change();
  switch (event.kind) {
    case core::WatchEventKind::kJobChanged: {
      auto* job = out->mutable_job();
      job->set_old_status(job_status(event.old_status));
      job->set_new_status(job_status(event.new_status));
      break;
    }
    case core::WatchEventKind::kStepChanged:
    case core::WatchEventKind::kStepWaitingUser: {
      auto* step = out->mutable_step();
      step->set_step_instance_id(event.step_instance_id);
      step->set_old_status(job_status(event.old_status));
      step->set_new_status(job_status(event.new_status));
      break;
    }
    case core::WatchEventKind::kHostChanged: {
      auto* host = out->mutable_host();
      host->set_step_instance_id(event.step_instance_id);
      to_proto(event.host.host, host->mutable_host());
      host->set_old_status(host_status(event.old_status));
      host->set_new_status(host_status(event.new_status));
      host->set_exit_code(event.host.exit_code);
      host->set_error_code(event.host.error_code);
      host->set_tag(event.host.tag);
      break;
    }
    case core::WatchEventKind::kJobUnreachable:
    case core::WatchEventKind::kJobReachable: {
      auto* reach = out->mutable_reachability();
      reach->set_unreachable_since_ms(event.unreachable_since_ms);
      reach->set_reachable_since_ms(event.reachable_since_ms);
      reach->set_last_error(event.last_error);
      break;
    }
    case core::WatchEventKind::kSnapshot:
    case core::WatchEventKind::kFinished:
      break;
  }
}

v1::JobSnapshot to_proto(const core::JobSnapshot& job) {
  v1::JobSnapshot out;
  to_proto(job, &out);
  return out;
}

v1::StatusEvent to_proto(const core::WatchEvent& event) {
  v1::StatusEvent out;
  to_proto(event, &out);
  return out;
}

void to_proto(const core::LogEvent& event, v1::LogEvent* out) {
  out->set_seq(event.seq);
  out->set_kind(static_cast<v1::LogEventKind>(event.kind));
  to_proto(event.host, out->mutable_host());
  out->set_step_instance_id(event.step_instance_id);
  out->set_text(event.text);
  out->set_offset(event.offset);
  out->clear_file_entries();
  for (const auto& entry : event.file_entries) to_proto(entry, out->add_file_entries());
  out->set_status(static_cast<v1::HostStatus>(event.status));
  out->set_exit_code(event.exit_code);
  out->set_resumed(event.resumed);
  out->set_observed_at_ms(event.observed_at_ms);
  out->set_truncated(event.truncated);
}

}  // namespace jobgw::server
