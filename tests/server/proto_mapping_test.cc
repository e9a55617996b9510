#include "server/proto_mapping.h"

#include <gtest/gtest.h>

#include <memory>

namespace jobgw::server {
namespace {

core::HostResult host_result(int status) {
  core::HostResult h;
  h.host.host_id = 101;
  h.host.cloud_id = 2;
  h.host.ip = "192.0.2.1";
  h.status = status;
  h.tag = "t1";
  h.exit_code = 3;
  h.error_code = 4;
  h.start_time_ms = 1000;
  h.end_time_ms = 2000;
  h.total_time_ms = 1000;
  return h;
}

core::JobSnapshot job_snapshot(int job_status, int step_status, int host_status) {
  core::JobSnapshot job;
  job.scope.type = "biz_set";
  job.scope.id = "9";
  job.job_instance_id = 100;
  job.name = "job-name";
  job.status = job_status;
  job.finished = true;
  job.create_time_ms = 11;
  job.start_time_ms = 12;
  job.end_time_ms = 13;
  job.total_time_ms = 14;
  core::StepSnapshot step;
  step.step_instance_id = 75;
  step.type = core::kStepFile;
  step.name = "step-name";
  step.status = step_status;
  step.execute_count = 2;
  step.create_time_ms = 21;
  step.start_time_ms = 22;
  step.end_time_ms = 23;
  step.total_time_ms = 24;
  step.hosts.push_back(host_result(host_status));
  step.hosts.push_back(host_result(host_status));
  step.hosts[1].host.host_id = 102;
  job.steps.push_back(step);
  core::StepSnapshot second;
  second.step_instance_id = 76;
  second.type = core::kStepScript;
  job.steps.push_back(second);
  return job;
}

TEST(ProtoMapping, HostResultEveryField) {
  v1::HostResult out;
  to_proto(host_result(9), &out);
  EXPECT_EQ(out.host().host_id(), 101);
  EXPECT_EQ(out.host().cloud_id(), 2);
  EXPECT_EQ(out.host().ip(), "192.0.2.1");
  EXPECT_EQ(out.status(), v1::HOST_STATUS_SUCCESS);
  EXPECT_EQ(out.tag(), "t1");
  EXPECT_EQ(out.exit_code(), 3);
  EXPECT_EQ(out.error_code(), 4);
  EXPECT_EQ(out.start_time_ms(), 1000);
  EXPECT_EQ(out.end_time_ms(), 2000);
  EXPECT_EQ(out.total_time_ms(), 1000);
}

TEST(ProtoMapping, HostStatusZeroIsUnknownError) {
  v1::HostResult out;
  to_proto(host_result(0), &out);
  EXPECT_EQ(out.status(), v1::HOST_STATUS_UNKNOWN_ERROR);
}

TEST(ProtoMapping, JobSnapshotEveryField) {
  v1::JobSnapshot out = to_proto(job_snapshot(3, 4, 310));
  EXPECT_EQ(out.job_instance_id(), 100);
  EXPECT_EQ(out.scope().type(), "biz_set");
  EXPECT_EQ(out.scope().id(), "9");
  EXPECT_EQ(out.name(), "job-name");
  EXPECT_EQ(out.status(), v1::JOB_STATUS_SUCCESS);
  EXPECT_TRUE(out.finished());
  EXPECT_EQ(out.create_time_ms(), 11);
  EXPECT_EQ(out.start_time_ms(), 12);
  EXPECT_EQ(out.end_time_ms(), 13);
  EXPECT_EQ(out.total_time_ms(), 14);
  ASSERT_EQ(out.steps_size(), 2);
  const auto& step = out.steps(0);
  EXPECT_EQ(step.step_instance_id(), 75);
  EXPECT_EQ(step.type(), v1::STEP_TYPE_FILE);
  EXPECT_EQ(step.name(), "step-name");
  EXPECT_EQ(step.status(), v1::JOB_STATUS_FAILED);
  EXPECT_EQ(step.execute_count(), 2);
  EXPECT_EQ(step.create_time_ms(), 21);
  EXPECT_EQ(step.start_time_ms(), 22);
  EXPECT_EQ(step.end_time_ms(), 23);
  EXPECT_EQ(step.total_time_ms(), 24);
  ASSERT_EQ(step.hosts_size(), 2);
  EXPECT_EQ(step.hosts(0).status(), v1::HOST_STATUS_AGENT_ABNORMAL);
  EXPECT_EQ(step.hosts(1).host().host_id(), 102);
  EXPECT_EQ(out.steps(1).step_instance_id(), 76);
  EXPECT_EQ(out.steps(1).type(), v1::STEP_TYPE_SCRIPT);
  EXPECT_EQ(out.steps(1).hosts_size(), 0);
}

TEST(ProtoMapping, UnknownNumbersPassThroughAndSurviveTheWire) {
  core::JobSnapshot job = job_snapshot(99, 42, 777);
  job.steps[0].type = 8;
  v1::JobSnapshot out = to_proto(job);
  EXPECT_EQ(static_cast<int>(out.status()), 99);
  EXPECT_EQ(static_cast<int>(out.steps(0).status()), 42);
  EXPECT_EQ(static_cast<int>(out.steps(0).type()), 8);
  EXPECT_EQ(static_cast<int>(out.steps(0).hosts(0).status()), 777);
  v1::JobSnapshot parsed;
  ASSERT_TRUE(parsed.ParseFromString(out.SerializeAsString()));
  EXPECT_EQ(static_cast<int>(parsed.status()), 99);
  EXPECT_EQ(static_cast<int>(parsed.steps(0).hosts(0).status()), 777);
}

TEST(ProtoMapping, ReusedMessageIsOverwritten) {
  v1::JobSnapshot out = to_proto(job_snapshot(3, 3, 9));
  core::JobSnapshot empty;
  to_proto(empty, &out);
  EXPECT_EQ(out.steps_size(), 0);
  EXPECT_EQ(out.job_instance_id(), 0);
  EXPECT_EQ(out.name(), "");
}

TEST(ProtoMapping, JobRef) {
  core::JobRef ref;
  ref.job_instance_id = 5;
  ref.step_instance_id = 6;
  ref.job_instance_name = "n";
  v1::JobRef out;
  to_proto(ref, &out);
  EXPECT_EQ(out.job_instance_id(), 5);
  EXPECT_EQ(out.step_instance_id(), 6);
  EXPECT_EQ(out.job_instance_name(), "n");
}

TEST(ProtoMapping, ScriptLogs) {
  core::IpLogs logs;
  logs.log_type = core::kLogScript;
  core::ScriptLog a;
  a.host.host_id = 1;
  a.host.ip = "192.0.2.1";
  a.content = "hello\n";
  core::ScriptLog b;
  b.host.cloud_id = 3;
  b.host.ip = "192.0.2.2";
  b.content = "world\n";
  logs.script_logs = {a, b};
  v1::GetIpLogsResponse out;
  to_proto(logs, &out);
  EXPECT_EQ(out.log_type(), v1::LOG_TYPE_SCRIPT);
  ASSERT_EQ(out.script_logs_size(), 2);
  EXPECT_EQ(out.script_logs(0).host().host_id(), 1);
  EXPECT_EQ(out.script_logs(0).content(), "hello\n");
  EXPECT_EQ(out.script_logs(1).host().cloud_id(), 3);
  EXPECT_EQ(out.script_logs(1).host().ip(), "192.0.2.2");
  EXPECT_EQ(out.script_logs(1).content(), "world\n");
  EXPECT_EQ(out.file_logs_size(), 0);
}

TEST(ProtoMapping, FileLogsEveryField) {
  core::IpLogs logs;
  logs.log_type = core::kLogFile;
  core::FileHostLog host_log;
  host_log.host.host_id = 7;
  core::FileLog download;
  download.mode = 1;
  download.src.host_id = 8;
  download.src.cloud_id = 1;
  download.src.ip = "192.0.2.8";
  download.src_path = "/data/1.log";
  download.dest.host_id = 7;
  download.dest.ip = "192.0.2.7";
  download.dest_path = "/tmp/1.log";
  download.status = 4;
  download.content = "done";
  download.size = "9.0 Bytes";
  download.speed = "1 KB/s";
  download.progress = "100%";
  core::FileLog upload;
  upload.mode = 0;
  upload.src.host_id = 8;
  upload.src_path = "/data/1.log";
  upload.status = 77;  // unknown file status passes through
  host_log.entries = {download, upload};
  logs.file_logs.push_back(host_log);

  v1::GetIpLogsResponse out;
  to_proto(logs, &out);
  EXPECT_EQ(out.log_type(), v1::LOG_TYPE_FILE);
  EXPECT_EQ(out.script_logs_size(), 0);
  ASSERT_EQ(out.file_logs_size(), 1);
  EXPECT_EQ(out.file_logs(0).host().host_id(), 7);
  ASSERT_EQ(out.file_logs(0).entries_size(), 2);
  const auto& d = out.file_logs(0).entries(0);
  EXPECT_EQ(d.mode(), v1::FILE_LOG_MODE_DOWNLOAD);
  EXPECT_EQ(d.src_host().host_id(), 8);
  EXPECT_EQ(d.src_host().cloud_id(), 1);
  EXPECT_EQ(d.src_host().ip(), "192.0.2.8");
  EXPECT_EQ(d.src_path(), "/data/1.log");
  ASSERT_TRUE(d.has_dest_host());
  EXPECT_EQ(d.dest_host().host_id(), 7);
  EXPECT_EQ(d.dest_host().ip(), "192.0.2.7");
  EXPECT_EQ(d.dest_path(), "/tmp/1.log");
  EXPECT_EQ(d.status(), v1::FILE_LOG_STATUS_SUCCESS);
  EXPECT_EQ(d.content(), "done");
  EXPECT_EQ(d.size(), "9.0 Bytes");
  EXPECT_EQ(d.speed(), "1 KB/s");
  EXPECT_EQ(d.progress(), "100%");
  const auto& u = out.file_logs(0).entries(1);
  EXPECT_EQ(u.mode(), v1::FILE_LOG_MODE_UPLOAD);
  EXPECT_FALSE(u.has_dest_host());
  EXPECT_EQ(static_cast<int>(u.status()), 77);
}

TEST(ProtoMapping, UnknownLogTypePassesThrough) {
  core::IpLogs logs;
  logs.log_type = 9;
  v1::GetIpLogsResponse out;
  to_proto(logs, &out);
  EXPECT_EQ(static_cast<int>(out.log_type()), 9);
}

TEST(ProtoMapping, SnapshotEvent) {
  core::WatchEvent e;
  e.seq = 12;
  e.kind = core::WatchEventKind::kSnapshot;
  e.observed_at_ms = 1700;
  e.resumed = false;
  e.snapshot = std::make_shared<const core::JobSnapshot>(job_snapshot(2, 2, 7));
  v1::StatusEvent out = to_proto(e);
  EXPECT_EQ(out.seq(), 12u);
  EXPECT_EQ(out.kind(), v1::EVENT_KIND_SNAPSHOT);
  EXPECT_EQ(out.observed_at_ms(), 1700);
  EXPECT_FALSE(out.resumed());
  ASSERT_TRUE(out.has_snapshot());
  EXPECT_EQ(out.snapshot().status(), v1::JOB_STATUS_RUNNING);
  EXPECT_EQ(out.snapshot().steps(0).hosts(0).status(), v1::HOST_STATUS_RUNNING);
  EXPECT_EQ(out.change_case(), v1::StatusEvent::CHANGE_NOT_SET);
}

TEST(ProtoMapping, FinishedEvent) {
  core::WatchEvent e;
  e.seq = 30;
  e.kind = core::WatchEventKind::kFinished;
  e.resumed = true;
  e.snapshot = std::make_shared<const core::JobSnapshot>(job_snapshot(3, 3, 9));
  v1::StatusEvent out = to_proto(e);
  EXPECT_EQ(out.kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_TRUE(out.resumed());
  ASSERT_TRUE(out.has_snapshot());
  EXPECT_TRUE(out.snapshot().finished());
  EXPECT_EQ(out.change_case(), v1::StatusEvent::CHANGE_NOT_SET);
}

TEST(ProtoMapping, JobChangedEvent) {
  core::WatchEvent e;
  e.seq = 2;
  e.kind = core::WatchEventKind::kJobChanged;
  e.old_status = 1;
  e.new_status = 123;  // unknown: passes through
  v1::StatusEvent out = to_proto(e);
  EXPECT_EQ(out.kind(), v1::EVENT_KIND_JOB_CHANGED);
  EXPECT_FALSE(out.has_snapshot());
  ASSERT_EQ(out.change_case(), v1::StatusEvent::kJob);
  EXPECT_EQ(out.job().old_status(), v1::JOB_STATUS_PENDING);
  EXPECT_EQ(static_cast<int>(out.job().new_status()), 123);
}

TEST(ProtoMapping, StepChangedEvent) {
  core::WatchEvent e;
  e.seq = 3;
  e.kind = core::WatchEventKind::kStepChanged;
  e.step_instance_id = 75;
  e.old_status = 0;
  e.new_status = 2;
  v1::StatusEvent out = to_proto(e);
  EXPECT_EQ(out.kind(), v1::EVENT_KIND_STEP_CHANGED);
  ASSERT_EQ(out.change_case(), v1::StatusEvent::kStep);
  EXPECT_EQ(out.step().step_instance_id(), 75);
  EXPECT_EQ(out.step().old_status(), v1::JOB_STATUS_UNSPECIFIED);
  EXPECT_EQ(out.step().new_status(), v1::JOB_STATUS_RUNNING);
}

TEST(ProtoMapping, HostChangedEvent) {
  core::WatchEvent e;
  e.seq = 4;
  e.kind = core::WatchEventKind::kHostChanged;
  e.step_instance_id = 75;
  e.old_status = 7;
  e.new_status = 104;
  e.host = host_result(104);
  v1::StatusEvent out = to_proto(e);
  EXPECT_EQ(out.kind(), v1::EVENT_KIND_HOST_CHANGED);
  ASSERT_EQ(out.change_case(), v1::StatusEvent::kHost);
  const auto& h = out.host();
  EXPECT_EQ(h.step_instance_id(), 75);
  EXPECT_EQ(h.host().host_id(), 101);
  EXPECT_EQ(h.host().cloud_id(), 2);
  EXPECT_EQ(h.host().ip(), "192.0.2.1");
  EXPECT_EQ(h.old_status(), v1::HOST_STATUS_RUNNING);
  EXPECT_EQ(h.new_status(), v1::HOST_STATUS_NONZERO_EXIT_CODE);
  EXPECT_EQ(h.exit_code(), 3);
  EXPECT_EQ(h.error_code(), 4);
  EXPECT_EQ(h.tag(), "t1");
}

TEST(ProtoMapping, UnknownHostStatusInChange) {
  core::WatchEvent e;
  e.kind = core::WatchEventKind::kHostChanged;
  e.old_status = 600;
  e.new_status = 601;
  v1::StatusEvent out = to_proto(e);
  EXPECT_EQ(static_cast<int>(out.host().old_status()), 600);
  EXPECT_EQ(static_cast<int>(out.host().new_status()), 601);
}

TEST(ProtoMapping, ReusedEventClearsOldChangeAndSnapshot) {
  core::WatchEvent host;
  host.kind = core::WatchEventKind::kHostChanged;
  host.snapshot = std::make_shared<const core::JobSnapshot>(job_snapshot(2, 2, 7));
  v1::StatusEvent out;
  to_proto(host, &out);
  ASSERT_EQ(out.change_case(), v1::StatusEvent::kHost);
  ASSERT_TRUE(out.has_snapshot());
  core::WatchEvent job;
  job.kind = core::WatchEventKind::kJobChanged;
  job.new_status = 3;
  to_proto(job, &out);
  EXPECT_EQ(out.change_case(), v1::StatusEvent::kJob);
  EXPECT_FALSE(out.has_snapshot());
}

TEST(ProtoMapping, EventKindNumbersMatch) {
  EXPECT_EQ(static_cast<int>(core::WatchEventKind::kSnapshot), v1::EVENT_KIND_SNAPSHOT);
  EXPECT_EQ(static_cast<int>(core::WatchEventKind::kJobChanged), v1::EVENT_KIND_JOB_CHANGED);
  EXPECT_EQ(static_cast<int>(core::WatchEventKind::kStepChanged), v1::EVENT_KIND_STEP_CHANGED);
  EXPECT_EQ(static_cast<int>(core::WatchEventKind::kHostChanged), v1::EVENT_KIND_HOST_CHANGED);
  EXPECT_EQ(static_cast<int>(core::WatchEventKind::kFinished), v1::EVENT_KIND_FINISHED);
}

}  // namespace
}  // namespace jobgw::server
