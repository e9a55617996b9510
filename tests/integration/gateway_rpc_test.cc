// The six RPCs end to end: a gRPC client in the test, jobgw and jobsim as real processes.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "tests/integration/gateway_stack.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using v1::StatusEvent;

class GatewayRpcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { stack_ = new GatewayStack(); }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  void TearDown() override {
    if (HasFailure()) ADD_FAILURE() << stack_->logs();
  }
  static GatewayStack* stack_;

  v1::JobRef submit(const v1::ExecuteScriptRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::JobRef ref;
    grpc::Status status = stack_->stub().ExecuteScript(&context, request, &ref);
    EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    return ref;
  }

  v1::GetIpLogsResponse logs(std::int64_t job, std::int64_t step,
                             const std::vector<std::int64_t>& hosts = {}) {
    grpc::ClientContext context;
    v1::GetIpLogsRequest request;
    request.mutable_scope()->set_id("1");
    request.set_job_instance_id(job);
    request.set_step_instance_id(step);
    for (auto h : hosts) request.add_host_ids(h);
    v1::GetIpLogsResponse response;
    grpc::Status status = stack_->stub().GetIpLogs(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    return response;
  }
};

GatewayStack* GatewayRpcTest::stack_ = nullptr;

std::map<std::int64_t, const v1::HostResult*> hosts_of(const v1::JobSnapshot& s) {
  std::map<std::int64_t, const v1::HostResult*> out;
  for (const auto& step : s.steps()) {
    for (const auto& h : step.hosts()) out[h.host().host_id()] = &h;
  }
  return out;
}

TEST_F(GatewayRpcTest, ScriptOnThreeHostsWatchedToTheEndWithRealLogs) {
  v1::JobRef ref = submit(script_request(
      "echo \"hello from $JOB_HOST_ID at $JOB_HOST_IP\"; sleep 0.3; echo done", {101, 102, 103}));
  ASSERT_GT(ref.job_instance_id(), 0);
  ASSERT_GT(ref.step_instance_id(), 0);

  WatchResult w = watch_to_end(stack_->stub(), ref.job_instance_id());
  ASSERT_TRUE(w.status.ok()) << w.status.error_message();
  ASSERT_GE(w.events.size(), 2u);
  EXPECT_EQ(w.events.front().kind(), v1::EVENT_KIND_SNAPSHOT);
  EXPECT_TRUE(w.events.front().has_snapshot());
  const StatusEvent& last = w.events.back();
  EXPECT_EQ(last.kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(last.snapshot().status(), v1::JOB_STATUS_SUCCESS);
  EXPECT_TRUE(last.snapshot().finished());
  for (std::size_t i = 1; i < w.events.size(); ++i) {
    EXPECT_GT(w.events[i].seq(), w.events[i - 1].seq());
  }
  auto hosts = hosts_of(last.snapshot());
  ASSERT_EQ(hosts.size(), 3u);
  for (auto& [id, h] : hosts) {
    EXPECT_EQ(h->status(), v1::HOST_STATUS_SUCCESS) << id;
    EXPECT_EQ(h->exit_code(), 0);
  }

  v1::GetIpLogsResponse all = logs(ref.job_instance_id(), ref.step_instance_id());
  EXPECT_EQ(all.log_type(), v1::LOG_TYPE_SCRIPT);
  ASSERT_EQ(all.script_logs_size(), 3);
  for (const auto& log : all.script_logs()) {
    std::string id = std::to_string(log.host().host_id());
    EXPECT_NE(log.content().find("hello from " + id), std::string::npos) << log.content();
    EXPECT_NE(log.content().find("done"), std::string::npos);
  }
  v1::GetIpLogsResponse one = logs(ref.job_instance_id(), ref.step_instance_id(), {102});
  ASSERT_EQ(one.script_logs_size(), 1);
  EXPECT_NE(one.script_logs(0).content().find("hello from 102"), std::string::npos);
}

TEST_F(GatewayRpcTest, FailingHostFinishesFailedWithExitCode) {
  // The sleep lets the watch start before the host fails, so the failure arrives as a host change
  // (a slower jobgw, e.g. under ASan, otherwise sees it already in the first snapshot).
  v1::JobRef ref = submit(script_request(
      "sleep 2; if [ \"$JOB_HOST_ID\" = 102 ]; then echo broken >&2; exit 3; fi; echo fine",
      {101, 102}));
  WatchResult w = watch_to_end(stack_->stub(), ref.job_instance_id());
  ASSERT_TRUE(w.status.ok()) << w.status.error_message();
  const v1::JobSnapshot& fin = w.events.back().snapshot();
  EXPECT_EQ(w.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(fin.status(), v1::JOB_STATUS_FAILED);
  auto hosts = hosts_of(fin);
  EXPECT_EQ(hosts.at(101)->status(), v1::HOST_STATUS_SUCCESS);
  EXPECT_EQ(hosts.at(102)->status(), v1::HOST_STATUS_NONZERO_EXIT_CODE);
  EXPECT_EQ(hosts.at(102)->exit_code(), 3);
  bool saw_host_change = false;
  for (const auto& e : w.events) {
    if (e.kind() == v1::EVENT_KIND_HOST_CHANGED && e.host().host().host_id() == 102 &&
        e.host().new_status() == v1::HOST_STATUS_NONZERO_EXIT_CODE) {
      saw_host_change = true;
      EXPECT_EQ(e.host().exit_code(), 3);
    }
  }
  EXPECT_TRUE(saw_host_change);
}

TEST_F(GatewayRpcTest, FiftyWatchersShareOnePoller) {
  const char* script = "sleep 2; echo ok";
  // Baseline: the same job with a single watcher.
  v1::JobRef solo = submit(script_request(script, {101}));
  WatchResult solo_watch = watch_to_end(stack_->stub(), solo.job_instance_id());
  ASSERT_TRUE(solo_watch.status.ok());
  std::int64_t solo_reads = stack_->status_reads(solo.job_instance_id());

  v1::JobRef shared = submit(script_request(script, {101}));
  std::vector<WatchResult> results(50);
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = watch_to_end(stack_->stub(), shared.job_instance_id()); });
  }
  for (auto& t : threads) t.join();
  std::int64_t shared_reads = stack_->status_reads(shared.job_instance_id());

  // Every watcher ends with the same FINISHED (same seq, same final snapshot).
  for (const auto& r : results) {
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    ASSERT_FALSE(r.events.empty());
    EXPECT_EQ(r.events.back().kind(), v1::EVENT_KIND_FINISHED);
    EXPECT_EQ(r.events.back().seq(), results[0].events.back().seq());
    EXPECT_EQ(r.events.back().snapshot().SerializeAsString(),
              results[0].events.back().snapshot().SerializeAsString());
  }
  // Fifty watchers cost JOB what one does (a small margin for timing on a busy machine).
  EXPECT_GT(solo_reads, 0);
  EXPECT_LE(shared_reads, solo_reads + 2) << "solo=" << solo_reads << " shared=" << shared_reads;
}

TEST_F(GatewayRpcTest, TransferMovesARealFileWithLogsInBothModes) {
  v1::JobRef seed = submit(script_request(
      "mkdir -p data && printf 'payload-%s' \"$JOB_HOST_ID\" > data/src.txt", {101}));
  ASSERT_TRUE(watch_to_end(stack_->stub(), seed.job_instance_id()).status.ok());

  v1::TransferFileRequest request;
  request.mutable_scope()->set_id("1");
  v1::FileSource* source = request.add_sources();
  source->add_files("/data/src.txt");
  source->mutable_servers()->add_host_ids(101);
  request.set_target_path("/tmp/recv/");
  request.mutable_targets()->add_host_ids(102);
  request.mutable_targets()->add_host_ids(103);
  grpc::ClientContext context;
  v1::JobRef ref;
  grpc::Status status = stack_->stub().TransferFile(&context, request, &ref);
  ASSERT_TRUE(status.ok()) << status.error_message();
  WatchResult w = watch_to_end(stack_->stub(), ref.job_instance_id());
  ASSERT_TRUE(w.status.ok());
  EXPECT_EQ(w.events.back().snapshot().status(), v1::JOB_STATUS_SUCCESS);

  // JOB returns a source host's upload log only when that host is asked for too.
  v1::GetIpLogsResponse file_logs =
      logs(ref.job_instance_id(), ref.step_instance_id(), {101, 102, 103});
  EXPECT_EQ(file_logs.log_type(), v1::LOG_TYPE_FILE);
  std::set<int> modes;
  for (const auto& host_log : file_logs.file_logs()) {
    for (const auto& entry : host_log.entries()) {
      modes.insert(entry.mode());
      if (entry.mode() == v1::FILE_LOG_MODE_DOWNLOAD) {
        EXPECT_EQ(entry.status(), v1::FILE_LOG_STATUS_SUCCESS);
        EXPECT_EQ(entry.src_path(), "/data/src.txt");
      }
    }
  }
  EXPECT_TRUE(modes.count(v1::FILE_LOG_MODE_UPLOAD)) << file_logs.DebugString();
  EXPECT_TRUE(modes.count(v1::FILE_LOG_MODE_DOWNLOAD)) << file_logs.DebugString();

  // The file really is on the targets: read it back with a script (scripts run in the host's
  // sandbox as their working directory, so the path is relative).
  v1::JobRef check = submit(script_request("cat tmp/recv/src.txt", {102, 103}));
  ASSERT_TRUE(watch_to_end(stack_->stub(), check.job_instance_id()).status.ok());
  v1::GetIpLogsResponse cat = logs(check.job_instance_id(), check.step_instance_id());
  ASSERT_EQ(cat.script_logs_size(), 2);
  for (const auto& log : cat.script_logs()) {
    EXPECT_NE(log.content().find("payload-101"), std::string::npos) << log.content();
  }
}

TEST_F(GatewayRpcTest, TerminateStopsASleepingJob) {
  v1::JobRef ref = submit(script_request("sleep 60", {101, 102}));
  // Wait until the hosts are running before terminating.
  ASSERT_TRUE(wait_until(
      [&] {
        grpc::ClientContext c;
        v1::GetJobStatusRequest r;
        r.mutable_scope()->set_id("1");
        r.set_job_instance_id(ref.job_instance_id());
        v1::JobSnapshot s;
        if (!stack_->stub().GetJobStatus(&c, r, &s).ok()) return false;
        return s.status() == v1::JOB_STATUS_RUNNING;
      },
      std::chrono::seconds(10)));
  grpc::ClientContext context;
  v1::TerminateJobRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(ref.job_instance_id());
  v1::TerminateJobResponse response;
  grpc::Status status = stack_->stub().TerminateJob(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.job_instance_id(), ref.job_instance_id());

  WatchResult w = watch_to_end(stack_->stub(), ref.job_instance_id(), 0, std::chrono::seconds(15));
  ASSERT_TRUE(w.status.ok()) << w.status.error_message();
  const v1::JobSnapshot& fin = w.events.back().snapshot();
  EXPECT_EQ(w.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_TRUE(fin.status() == v1::JOB_STATUS_TERMINATED ||
              fin.status() == v1::JOB_STATUS_TERMINATE_SUCCEEDED)
      << fin.status();
  for (auto& [id, h] : hosts_of(fin)) {
    EXPECT_TRUE(h->status() == v1::HOST_STATUS_SCRIPT_TERMINATED ||
                h->status() == v1::HOST_STATUS_TERMINATED)
        << id << " " << h->status();
  }
}

TEST_F(GatewayRpcTest, UnknownJobIsNotFoundWithJobCodeInTrailers) {
  grpc::ClientContext context;
  v1::GetJobStatusRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(987654321);
  v1::JobSnapshot snapshot;
  grpc::Status status = stack_->stub().GetJobStatus(&context, request, &snapshot);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_EQ(trailing(context, "jobgw-job-code"), "1244006");
  EXPECT_FALSE(trailing(context, "jobgw-job-request-id").empty());

  WatchResult w = watch_to_end(stack_->stub(), 987654321, 0, std::chrono::seconds(10));
  EXPECT_EQ(w.status.error_code(), grpc::StatusCode::NOT_FOUND) << w.status.error_message();

  grpc::ClientContext terminate_context;
  v1::TerminateJobRequest terminate;
  terminate.mutable_scope()->set_id("1");
  terminate.set_job_instance_id(987654321);
  v1::TerminateJobResponse response;
  EXPECT_EQ(stack_->stub().TerminateJob(&terminate_context, terminate, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(GatewayRpcTest, HostsOutsideTheScopeAreRejectedByJob) {
  grpc::ClientContext context;
  v1::ExecuteScriptRequest request = script_request("true", {999999});
  v1::JobRef ref;
  grpc::Status status = stack_->stub().ExecuteScript(&context, request, &ref);
  EXPECT_TRUE(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
              status.error_code() == grpc::StatusCode::FAILED_PRECONDITION)
      << status.error_code() << " " << status.error_message();
  EXPECT_EQ(trailing(context, "jobgw-job-code"), "1244002");
}

TEST_F(GatewayRpcTest, ValidationNamesTheField) {
  struct Case {
    std::string name;
    std::function<void(v1::ExecuteScriptRequest&)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {"no scope id", [](auto& r) { r.mutable_scope()->clear_id(); }, "scope.id"},
      {"two sources", [](auto& r) { r.set_script_id("abc"); }, "script"},
      {"no source", [](auto& r) { r.clear_script_content(); }, "script"},
      {"bad language", [](auto& r) { r.set_script_language(static_cast<v1::ScriptLanguage>(9)); },
       "script_language"},
      {"timeout", [](auto& r) { r.set_timeout_seconds(86401); }, "timeout_seconds"},
      {"task name", [](auto& r) { r.set_task_name(std::string(513, 'x')); }, "task_name"},
      {"no targets", [](auto& r) { r.clear_targets(); }, "targets"},
      {"host id", [](auto& r) { r.mutable_targets()->set_host_ids(0, -4); }, "targets.host_ids"},
      {"bad ip",
       [](auto& r) {
         auto* h = r.mutable_targets()->add_hosts();
         h->set_ip("300.1.1.1");
       },
       "targets.hosts"},
      {"ipv6 without id",
       [](auto& r) {
         r.mutable_targets()->clear_host_ids();
         r.mutable_targets()->add_hosts()->set_ip("2001:db8::1");
       },
       "targets.hosts"},
      {"script too big", [](auto& r) { r.set_script_content(std::string((1 << 20) + 1, '#')); },
       "script_content"},
  };
  for (const auto& c : cases) {
    v1::ExecuteScriptRequest request = script_request("echo x", {101});
    c.mutate(request);
    grpc::ClientContext context;
    v1::JobRef ref;
    grpc::Status status = stack_->stub().ExecuteScript(&context, request, &ref);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_NE(status.error_message().find(c.field), std::string::npos)
        << c.name << ": " << status.error_message();
  }

  v1::TransferFileRequest transfer;
  transfer.mutable_scope()->set_id("1");
  transfer.set_target_path("relative/dir");
  transfer.mutable_targets()->add_host_ids(101);
  auto* source = transfer.add_sources();
  source->add_files("/data/a");
  source->mutable_servers()->add_host_ids(101);
  grpc::ClientContext context;
  v1::JobRef ref;
  grpc::Status status = stack_->stub().TransferFile(&context, transfer, &ref);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("target_path"), std::string::npos)
      << status.error_message();

  transfer.set_target_path("/tmp");
  transfer.mutable_sources(0)->set_files(0, "data/a");
  grpc::ClientContext context2;
  status = stack_->stub().TransferFile(&context2, transfer, &ref);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("sources[0].files[0]"), std::string::npos)
      << status.error_message();

  grpc::ClientContext context3;
  v1::WatchStatusRequest watch;
  watch.mutable_scope()->set_id("1");
  auto reader = stack_->stub().WatchStatus(&context3, watch);
  v1::StatusEvent ignored;
  EXPECT_FALSE(reader->Read(&ignored));
  status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("job_instance_id"), std::string::npos);
}

TEST_F(GatewayRpcTest, ResumeWithAfterSeqGetsWhatWasMissed) {
  v1::JobRef ref =
      submit(script_request("for i in 1 2 3; do echo step $i; sleep 0.4; done", {101, 102, 103}));
  // Read only the first event, then drop the stream.
  std::uint64_t seen = 0;
  {
    grpc::ClientContext context;
    v1::WatchStatusRequest request;
    request.mutable_scope()->set_id("1");
    request.set_job_instance_id(ref.job_instance_id());
    auto reader = stack_->stub().WatchStatus(&context, request);
    v1::StatusEvent first;
    ASSERT_TRUE(reader->Read(&first));
    EXPECT_EQ(first.kind(), v1::EVENT_KIND_SNAPSHOT);
    seen = first.seq();
    context.TryCancel();
    v1::StatusEvent rest;
    while (reader->Read(&rest)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  WatchResult full = watch_to_end(stack_->stub(), ref.job_instance_id());
  WatchResult resumed = watch_to_end(stack_->stub(), ref.job_instance_id(), seen);
  ASSERT_TRUE(resumed.status.ok()) << resumed.status.error_message();
  ASSERT_FALSE(resumed.events.empty());
  EXPECT_EQ(resumed.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(resumed.events.back().seq(), full.events.back().seq());
  if (resumed.events.front().resumed()) {
    // Replayed: exactly the events after `seen`, in order, no SNAPSHOT.
    EXPECT_EQ(resumed.events.front().seq(), seen + 1);
    for (const auto& e : resumed.events) EXPECT_NE(e.kind(), v1::EVENT_KIND_SNAPSHOT);
  } else {
    EXPECT_EQ(resumed.events.front().kind(), v1::EVENT_KIND_SNAPSHOT);
  }
  // The hub keeps far more history than this job produced, so it must have replayed.
  EXPECT_TRUE(resumed.events.front().resumed());
}

TEST_F(GatewayRpcTest, GetJobStatusReturnsTheSnapshot) {
  v1::JobRef ref = submit(script_request("echo quick", {101}));
  ASSERT_TRUE(watch_to_end(stack_->stub(), ref.job_instance_id()).status.ok());
  grpc::ClientContext context;
  v1::GetJobStatusRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(ref.job_instance_id());
  v1::JobSnapshot snapshot;
  ASSERT_TRUE(stack_->stub().GetJobStatus(&context, request, &snapshot).ok());
  EXPECT_EQ(snapshot.job_instance_id(), ref.job_instance_id());
  EXPECT_TRUE(snapshot.finished());
  EXPECT_EQ(snapshot.status(), v1::JOB_STATUS_SUCCESS);
  ASSERT_EQ(snapshot.steps_size(), 1);
  EXPECT_EQ(snapshot.steps(0).step_instance_id(), ref.step_instance_id());
  EXPECT_EQ(snapshot.steps(0).hosts_size(), 1);
  EXPECT_GT(snapshot.end_time_ms(), 0);
}

TEST_F(GatewayRpcTest, TerminatingAFinishedJobIsAFailedPrecondition) {
  v1::JobRef ref = submit(script_request("true", {101}));
  ASSERT_TRUE(watch_to_end(stack_->stub(), ref.job_instance_id()).status.ok());
  grpc::ClientContext context;
  v1::TerminateJobRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(ref.job_instance_id());
  v1::TerminateJobResponse response;
  grpc::Status status = stack_->stub().TerminateJob(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_EQ(trailing(context, "jobgw-job-code"), "1241010");
}

TEST_F(GatewayRpcTest, LogsOfHostsTheStepDoesNotHaveAreNotFoundNamingThem) {
  v1::JobRef ref = submit(script_request("echo here", {101, 102}));
  ASSERT_TRUE(watch_to_end(stack_->stub(), ref.job_instance_id()).status.ok());
  for (std::int64_t step : {ref.step_instance_id(), std::int64_t{0}}) {
    grpc::ClientContext context;
    v1::GetIpLogsRequest request;
    request.mutable_scope()->set_id("1");
    request.set_job_instance_id(ref.job_instance_id());
    request.set_step_instance_id(step);
    request.add_host_ids(102);
    request.add_host_ids(999);
    v1::GetIpLogsResponse response;
    grpc::Status status = stack_->stub().GetIpLogs(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
    EXPECT_EQ(status.error_message(), "host_ids: 999 is not a host of step " +
                                          std::to_string(ref.step_instance_id()) + " of job " +
                                          std::to_string(ref.job_instance_id()));
  }
  // Hosts the step has still answer.
  v1::GetIpLogsResponse ok = logs(ref.job_instance_id(), ref.step_instance_id(), {102});
  ASSERT_EQ(ok.script_logs_size(), 1);
  EXPECT_NE(ok.script_logs(0).content().find("here"), std::string::npos);
}

TEST_F(GatewayRpcTest, ScriptLimitIsReachedBeforeTheMessageLimit) {
  // Over limits.max_script_bytes (1 MiB) but within gRPC's message limit (4 MiB): validation
  // answers, naming the field.
  v1::ExecuteScriptRequest big = script_request(std::string(3 << 20, '#'), {101});
  grpc::ClientContext context;
  v1::JobRef ref;
  grpc::Status status = stack_->stub().ExecuteScript(&context, big, &ref);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("script_content"), std::string::npos)
      << status.error_message();
  // Over the message limit itself: gRPC refuses it before jobgw reads it (README "Errors").
  v1::ExecuteScriptRequest huge = script_request(std::string(5 << 20, '#'), {101});
  grpc::ClientContext huge_context;
  status = stack_->stub().ExecuteScript(&huge_context, huge, &ref);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_NE(status.error_message().find("larger than max"), std::string::npos)
      << status.error_message();
}

}  // namespace
}  // namespace jobgw::testing
