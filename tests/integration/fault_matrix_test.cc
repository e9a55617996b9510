// The JOB fault matrix: every RPC that reaches JOB, against every jobsim fault kind, with the gRPC
// outcome each cell must give written down below (from README "Errors", server/status_mapping.h
// and core/http/http_client.h's retry rules), checked against real jobsim and jobgw processes. Each
// test runs its matrix twice: after the first (warm-up) pass and after the second, jobgw must be
// alive, hold no stream, no admission slot and no poller, and its RSS must not have grown beyond
// a generous margin. Every cell prints one Markdown row ("MATRIX| ..."), the table of
// docs/FAULT_MATRIX.md.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/stack_probes.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using grpc::StatusCode;
using namespace std::chrono_literals;

// jobgw gives JOB this long per unary RPC (and per attempt), so `latency=5000` is beyond it.
constexpr int kJobDeadlineMs = 2000;
// RSS the second pass may add over the warm-up pass. Measured: at most a few hundred KiB (the
// allocator settling); a stream, call or poller kept per cell is caught by the gauges instead,
// so this bound only has to catch memory that grows with the faults themselves.
constexpr long kRssGrowthLimitKib = 8 * 1024;

const char* code_name(StatusCode code) {
  switch (code) {
    case StatusCode::OK:
      return "OK";
    case StatusCode::CANCELLED:
      return "CANCELLED";
    case StatusCode::UNKNOWN:
      return "UNKNOWN";
    case StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case StatusCode::INTERNAL:
      return "INTERNAL";
    case StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    default:
      return "OTHER";
  }
}

// docs/JOB_API.md "Error codes": each business code and its status, plus one JOB might add.
const std::vector<std::pair<std::int64_t, StatusCode>>& job_codes() {
  static const std::vector<std::pair<std::int64_t, StatusCode>> kCodes = {
      {1240001, StatusCode::UNAVAILABLE},         {1240002, StatusCode::INTERNAL},
      {1240003, StatusCode::INVALID_ARGUMENT},    {1238001, StatusCode::PERMISSION_DENIED},
      {9900403, StatusCode::PERMISSION_DENIED},   {1241001, StatusCode::INVALID_ARGUMENT},
      {1241002, StatusCode::INVALID_ARGUMENT},    {1241004, StatusCode::INVALID_ARGUMENT},
      {1241005, StatusCode::INVALID_ARGUMENT},    {1241010, StatusCode::INVALID_ARGUMENT},
      {1241014, StatusCode::INVALID_ARGUMENT},    {1244001, StatusCode::INVALID_ARGUMENT},
      {1244002, StatusCode::FAILED_PRECONDITION}, {1244003, StatusCode::NOT_FOUND},
      {1244004, StatusCode::PERMISSION_DENIED},   {1244006, StatusCode::NOT_FOUND},
      {1244007, StatusCode::NOT_FOUND},           {1244015, StatusCode::FAILED_PRECONDITION},
      {1244032, StatusCode::RESOURCE_EXHAUSTED},  {1244033, StatusCode::RESOURCE_EXHAUSTED},
      {1244034, StatusCode::RESOURCE_EXHAUSTED},  {1244012, StatusCode::NOT_FOUND},
      {1243009, StatusCode::NOT_FOUND},           {1241003, StatusCode::FAILED_PRECONDITION},
      {1244011, StatusCode::FAILED_PRECONDITION}, {1244014, StatusCode::FAILED_PRECONDITION},
      {1244008, StatusCode::FAILED_PRECONDITION}, {1244009, StatusCode::FAILED_PRECONDITION},
      {1244016, StatusCode::PERMISSION_DENIED},   {1299999, StatusCode::UNKNOWN},
  };
  return kCodes;
}

// One cell: a fault on one JOB API while one RPC runs, and what the caller must see.
struct Cell {
  Cell(std::string fault, StatusCode expected, std::string meaning, int min_requests = 0,
       int max_requests = 0, std::string trailer_key = {}, std::string trailer_value = {})
      : fault(std::move(fault)),
        expected(expected),
        meaning(std::move(meaning)),
        min_requests(min_requests),
        max_requests(max_requests),
        trailer_key(std::move(trailer_key)),
        trailer_value(std::move(trailer_value)) {}

  std::string fault;  // KIND[=VALUE][#MAX], applied to the RPC's JOB API
  StatusCode expected;
  std::string meaning;  // how the expectation reads in the table
  // JOB requests the RPC made to the faulted API (the first attempt plus transport retries);
  // max 0 = not checked (WatchStatus polls as often as it likes).
  int min_requests;
  int max_requests;
  // A trailer the status must carry, when set.
  std::string trailer_key;
  std::string trailer_value;
};

// What one RPC call gave.
struct Outcome {
  grpc::Status status;
  std::map<std::string, std::string> trailers;
  std::string detail;  // e.g. "FINISHED after 5 events"
};

std::map<std::string, std::string> trailers_of(const grpc::ClientContext& context) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : context.GetServerTrailingMetadata()) {
    out[std::string(key.data(), key.size())] = std::string(value.data(), value.size());
  }
  return out;
}

template <typename Call>
Outcome unary(Call call) {
  grpc::ClientContext context;
  // Far beyond jobgw's JOB deadline: a DEADLINE_EXCEEDED is jobgw's own, never the caller's.
  context.set_deadline(std::chrono::system_clock::now() + 30s);
  Outcome out;
  out.status = call(&context);
  out.trailers = trailers_of(context);
  return out;
}

// The cells of a unary read: retried by the transport on 429, 5xx and resets, and sent once
// more by JobClient when the answer does not decode.
std::vector<Cell> read_cells() {
  std::vector<Cell> cells = {
      {"latency=5000#1", StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED (jobgw's JOB deadline)",
       1, 1},
      {"throttle=1#1", StatusCode::OK, "retried after Retry-After, OK", 2, 2},
      {"throttle=1", StatusCode::RESOURCE_EXHAUSTED, "retried, then RESOURCE_EXHAUSTED", 2, 4,
       "jobgw-retry-after-ms", "1000"},
      {"status=500#1", StatusCode::OK, "retried, OK", 2, 2},
      {"status=502#1", StatusCode::OK, "retried, OK", 2, 2},
      {"status=504#1", StatusCode::OK, "retried, OK", 2, 2},
      {"status=502", StatusCode::UNAVAILABLE, "retried, then UNAVAILABLE", 2, 4,
       "jobgw-http-status", "502"},
      {"html=502#1", StatusCode::OK, "retried, OK", 2, 2},
      {"html=502", StatusCode::UNAVAILABLE, "retried, then UNAVAILABLE", 2, 4, "jobgw-http-status",
       "502"},
      {"html=404#1", StatusCode::INTERNAL, "INTERNAL (wrong JOB URL), not retried", 1, 1,
       "jobgw-http-status", "404"},
      {"truncate#1", StatusCode::OK, "sent once more, OK", 2, 2},
      {"truncate", StatusCode::INTERNAL, "sent once more, then INTERNAL", 2, 2},
      {"reset#1", StatusCode::OK, "retried, OK", 2, 2},
      {"reset", StatusCode::UNAVAILABLE, "retried, then UNAVAILABLE", 2, 4},
  };
  for (const auto& [code, status] : job_codes()) {
    cells.push_back({"code=" + std::to_string(code) + "#1", status, code_name(status), 1, 1,
                     "jobgw-job-code", std::to_string(code)});
  }
  return cells;
}

// The cells of a submit or terminate: never re-sent once the request may have reached JOB.
// `terminate`: operate_job_instance's 1241010 means the job has finished, a state that refuses
// the request (FAILED_PRECONDITION), not a malformed one.
std::vector<Cell> write_cells(bool terminate = false) {
  std::vector<Cell> cells = {
      {"latency=5000#1", StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED (jobgw's JOB deadline)",
       1, 1},
      {"throttle=1#1", StatusCode::RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED, not re-sent", 1, 1,
       "jobgw-retry-after-ms", "1000"},
      {"status=500#1", StatusCode::UNAVAILABLE, "UNAVAILABLE, not re-sent", 1, 1,
       "jobgw-http-status", "500"},
      {"status=502#1", StatusCode::UNAVAILABLE, "UNAVAILABLE, not re-sent", 1, 1,
       "jobgw-http-status", "502"},
      {"status=504#1", StatusCode::UNAVAILABLE, "UNAVAILABLE, not re-sent", 1, 1,
       "jobgw-http-status", "504"},
      {"html=502#1", StatusCode::UNAVAILABLE, "UNAVAILABLE, not re-sent", 1, 1, "jobgw-http-status",
       "502"},
      {"html=404#1", StatusCode::INTERNAL, "INTERNAL (wrong JOB URL)", 1, 1, "jobgw-http-status",
       "404"},
      {"truncate#1", StatusCode::INTERNAL, "INTERNAL (body does not parse), not re-sent", 1, 1},
      {"reset#1", StatusCode::UNAVAILABLE, "UNAVAILABLE, not re-sent", 1, 1},
  };
  for (auto [code, status] : job_codes()) {
    if (terminate && code == 1241010) status = StatusCode::FAILED_PRECONDITION;
    cells.push_back({"code=" + std::to_string(code) + "#1", status, code_name(status), 1, 1,
                     "jobgw-job-code", std::to_string(code)});
  }
  return cells;
}

// WatchStatus under faults of the poller's get_job_instance_status: transient faults never end
// the stream (the transport retries, then the poller backs off) and it finishes once they clear;
// a non-transient answer ends it with that answer's status. #5 outlasts one read's 4 attempts
// (#3 the two requests of a read whose answer does not decode), so the poller backs off.
std::vector<Cell> watch_cells() {
  const std::string survives = "stream survives, FINISHED";
  std::vector<Cell> cells = {
      {"latency=5000#1", StatusCode::OK, survives},
      {"throttle=1#5", StatusCode::OK, survives},
      {"status=500#5", StatusCode::OK, survives},
      {"status=502#5", StatusCode::OK, survives},
      {"status=504#5", StatusCode::OK, survives},
      {"html=502#5", StatusCode::OK, survives},
      {"truncate#3", StatusCode::OK, survives},
      {"reset#5", StatusCode::OK, survives},
      {"html=404#1", StatusCode::INTERNAL, "stream ends INTERNAL (wrong JOB URL)", 0, 0,
       "jobgw-http-status", "404"},
  };
  for (const auto& [code, status] : job_codes()) {
    // JOB's "unavailable" and "internal error" are transient for the poller.
    const bool transient = code == 1240001 || code == 1240002;
    cells.push_back({"code=" + std::to_string(code) + (transient ? "#2" : "#1"),
                     transient ? StatusCode::OK : status,
                     transient ? survives : std::string("stream ends ") + code_name(status), 0, 0,
                     transient ? "" : "jobgw-job-code", transient ? "" : std::to_string(code)});
  }
  return cells;
}

class FaultMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StackOptions options;
    options.jobsim_args = {"--max-procs", "64"};
    options.jobgw_args = {"--job.call_timeout_ms=" + std::to_string(kJobDeadlineMs),
                          "--job.request_timeout_ms=" + std::to_string(kJobDeadlineMs),
                          // Every GetJobStatus reaches JOB rather than the watch cache.
                          "--watch.status_fresh_for_ms=0"};
    stack_ = std::make_unique<GatewayStack>(options);
  }
  void TearDown() override {
    if (HasFailure() && stack_) ADD_FAILURE() << stack_->logs();
  }

  // Runs `cells` for one RPC against JOB API `api`, checking each; on pass 2 prints each cell's
  // table row.
  void run_cells(const std::string& rpc, const std::string& api, const std::vector<Cell>& cells,
                 const std::function<Outcome()>& call, int pass) {
    for (const Cell& cell : cells) {
      SCOPED_TRACE(rpc + " x " + api + ":" + cell.fault);
      if (api == "get_job_instance_status") {
        // A poller of an earlier cell must not take this cell's fault.
        ASSERT_TRUE(wait_until(
            [&] {
              return metric_sample(jobgw_metrics(*stack_), "jobgw_watched_jobs").value_or(-1) == 0;
            },
            20s));
      }
      const std::int64_t before = jobsim_requests(*stack_, api);
      stack_->set_faults({api + ":" + cell.fault});
      Outcome out = call();
      const std::int64_t requests = jobsim_requests(*stack_, api) - before;
      stack_->clear_faults();

      bool pass_ok = out.status.error_code() == cell.expected;
      EXPECT_EQ(code_name(out.status.error_code()), std::string(code_name(cell.expected)))
          << out.status.error_message();
      if (cell.max_requests > 0) {
        EXPECT_GE(requests, cell.min_requests);
        EXPECT_LE(requests, cell.max_requests);
        pass_ok = pass_ok && requests >= cell.min_requests && requests <= cell.max_requests;
      }
      if (!out.status.ok()) {
        // Errors that describe JOB's answer say so; jobgw's own messages would not.
        EXPECT_EQ(out.status.error_message().rfind("JOB: ", 0), 0u) << out.status.error_message();
      }
      if (!cell.trailer_key.empty()) {
        EXPECT_EQ(out.trailers[cell.trailer_key], cell.trailer_value);
        pass_ok = pass_ok && out.trailers[cell.trailer_key] == cell.trailer_value;
      }
      if (cell.trailer_key == "jobgw-job-code") {
        EXPECT_FALSE(out.trailers["jobgw-job-request-id"].empty());
      }
      ASSERT_TRUE(stack_->jobgw().running()) << "jobgw died";
      if (pass == 2) {
        std::string measured = code_name(out.status.error_code());
        if (cell.max_requests > 0) {
          measured +=
              ", " + std::to_string(requests) + (requests == 1 ? " JOB request" : " JOB requests");
        }
        if (!out.detail.empty()) measured += ", " + out.detail;
        std::printf("MATRIX| %s | `%s:%s` | %s | %s | %s |\n", rpc.c_str(), api.c_str(),
                    cell.fault.c_str(), cell.meaning.c_str(), measured.c_str(),
                    pass_ok ? "pass" : "FAIL");
      }
    }
  }

  // After a pass: jobgw alive, no stream, no admitted call, no poller left.
  void expect_idle() {
    ASSERT_TRUE(stack_->jobgw().running()) << "jobgw died";
    std::string text;
    bool idle = wait_until(
        [&] {
          text = jobgw_metrics(*stack_);
          return metric_sample(text, "jobgw_watched_jobs").value_or(-1) == 0 &&
                 metric_sample(text, "jobgw_subscribers").value_or(-1) == 0 &&
                 metric_sum(text, "jobgw_admission_in_use") == 0;
        },
        30s);
    EXPECT_TRUE(idle) << text;
  }

  // Runs `pass(n)` twice and checks jobgw's RSS between the two.
  void twice_with_stable_memory(const std::string& name, const std::function<void(int)>& pass) {
    const long start = rss_kib(stack_->jobgw().pid());
    pass(1);
    if (HasFatalFailure()) return;
    expect_idle();
    const long warm = rss_kib(stack_->jobgw().pid());
    pass(2);
    if (HasFatalFailure()) return;
    expect_idle();
    const long after = rss_kib(stack_->jobgw().pid());
    std::printf(
        "RSS| %s | start %ld KiB | after warm-up pass %ld KiB | after second pass %ld KiB\n",
        name.c_str(), start, warm, after);
    ASSERT_GT(warm, 0);
    if (kRssBoundsApply) {
      EXPECT_LT(after - warm, kRssGrowthLimitKib);
    }
  }

  std::unique_ptr<GatewayStack> stack_;
};

v1::TransferFileRequest transfer_request() {
  v1::TransferFileRequest r;
  r.mutable_scope()->set_id("1");
  r.set_target_path("/tmp/matrix/");
  r.mutable_targets()->add_host_ids(102);
  auto* source = r.add_sources();
  source->add_files("/data/matrix.txt");
  source->mutable_servers()->add_host_ids(101);
  return r;
}

TEST_F(FaultMatrixTest, SubmitsAreNeverResentAndMapEveryFault) {
  twice_with_stable_memory("submits", [&](int pass) {
    run_cells(
        "ExecuteScript", "fast_execute_script", write_cells(),
        [&] {
          return unary([&](grpc::ClientContext* context) {
            v1::JobRef ref;
            return stack_->stub().ExecuteScript(context, script_request("true", {101}), &ref);
          });
        },
        pass);
    run_cells(
        "TransferFile", "fast_transfer_file", write_cells(),
        [&] {
          return unary([&](grpc::ClientContext* context) {
            v1::JobRef ref;
            return stack_->stub().TransferFile(context, transfer_request(), &ref);
          });
        },
        pass);
  });
}

TEST_F(FaultMatrixTest, ReadsAreRetriedAndTerminateIsNot) {
  // A finished job jobgw never saw, so every read goes to JOB.
  const DirectJob done = jobsim_submit_script(*stack_, "echo matrix", {101, 102});
  ASSERT_TRUE(wait_until(
      [&] {
        auto stats = stack_->jobsim_stats();
        return stats["jobs"]["running"].get<int>() == 0;
      },
      20s));
  std::vector<std::int64_t> terminate_targets;
  twice_with_stable_memory("reads", [&](int pass) {
    run_cells(
        "GetJobStatus", "get_job_instance_status", read_cells(),
        [&] {
          return unary([&](grpc::ClientContext* context) {
            v1::GetJobStatusRequest request;
            request.mutable_scope()->set_id("1");
            request.set_job_instance_id(done.job_instance_id);
            v1::JobSnapshot snapshot;
            grpc::Status status = stack_->stub().GetJobStatus(context, request, &snapshot);
            if (status.ok()) {
              EXPECT_TRUE(snapshot.finished());
            }
            return status;
          });
        },
        pass);
    run_cells(
        "GetIpLogs", "batch_get_job_instance_ip_log", read_cells(),
        [&] {
          return unary([&](grpc::ClientContext* context) {
            v1::GetIpLogsRequest request;
            request.mutable_scope()->set_id("1");
            request.set_job_instance_id(done.job_instance_id);
            request.set_step_instance_id(done.step_instance_id);
            request.add_host_ids(101);
            v1::GetIpLogsResponse response;
            grpc::Status status = stack_->stub().GetIpLogs(context, request, &response);
            if (status.ok()) {
              EXPECT_EQ(response.script_logs_size(), 1);
              if (response.script_logs_size() == 1) {
                EXPECT_NE(response.script_logs(0).content().find("matrix"), std::string::npos);
              }
            }
            return status;
          });
        },
        pass);
    run_cells(
        "TerminateJob", "operate_job_instance", write_cells(/*terminate=*/true),
        [&] {
          // A running job of its own per cell.
          const DirectJob running = jobsim_submit_script(*stack_, "sleep 60", {103});
          terminate_targets.push_back(running.job_instance_id);
          Outcome out = unary([&](grpc::ClientContext* context) {
            v1::TerminateJobRequest request;
            request.mutable_scope()->set_id("1");
            request.set_job_instance_id(running.job_instance_id);
            v1::TerminateJobResponse response;
            grpc::Status status = stack_->stub().TerminateJob(context, request, &response);
            if (status.ok()) {
              EXPECT_EQ(response.job_instance_id(), running.job_instance_id);
            }
            return status;
          });
          return out;
        },
        pass);
    // The jobs whose terminate a fault refused are still running: end them directly (a job
    // already ended is refused, which is fine).
    for (std::int64_t id : terminate_targets) jobsim_terminate(*stack_, id);
    terminate_targets.clear();
  });
}

TEST_F(FaultMatrixTest, JobPlanCallsMapEveryFaultAndMutationsAreNeverResent) {
  constexpr int kConfirm = 6, kTerminateConfirmation = 9;
  // A finished plan job jobgw never saw, for the outputs reads.
  const DirectJob at_confirmation = jobsim_plan_at_confirmation(*stack_);
  ASSERT_TRUE(jobsim_operate_step(*stack_, at_confirmation, kConfirm));
  std::vector<DirectJob> waiting;
  twice_with_stable_memory("plans", [&](int pass) {
    run_cells(
        "ListJobPlans", "get_job_plan_list", read_cells(),
        [&] {
          return unary([&](grpc::ClientContext* context) {
            v1::ListJobPlansRequest request;
            request.mutable_scope()->set_id("1");
            v1::ListJobPlansResponse response;
            grpc::Status status = stack_->stub().ListJobPlans(context, request, &response);
            if (status.ok()) EXPECT_EQ(response.plans_size(), 2);
            return status;
          });
        },
        pass);
    run_cells(
        "GetJobPlan", "get_job_plan_detail", read_cells(),
        [&] {
          return unary([&](grpc::ClientContext* context) {
            v1::GetJobPlanRequest request;
            request.mutable_scope()->set_id("1");
            request.set_job_plan_id(1);
            v1::JobPlan plan;
            grpc::Status status = stack_->stub().GetJobPlan(context, request, &plan);
            if (status.ok()) EXPECT_EQ(plan.steps_size(), 3);
            return status;
          });
        },
        pass);
    run_cells(
        "ExecuteJobPlan", "execute_job_plan", write_cells(),
        [&] {
          return unary([&](grpc::ClientContext* context) {
            v1::ExecuteJobPlanRequest request;
            request.mutable_scope()->set_id("1");
            request.set_job_plan_id(2);
            auto* fail_first = request.add_variables();
            fail_first->set_name("fail_first");
            fail_first->set_value("false");
            v1::JobRef ref;
            return stack_->stub().ExecuteJobPlan(context, request, &ref);
          });
        },
        pass);
    run_cells(
        "OperateStep", "operate_step_instance", write_cells(/*terminate=*/true),
        [&] {
          // A confirmation of its own per cell, waiting.
          const DirectJob step = jobsim_plan_at_confirmation(*stack_);
          waiting.push_back(step);
          return unary([&](grpc::ClientContext* context) {
            v1::OperateStepRequest request;
            request.mutable_scope()->set_id("1");
            request.set_job_instance_id(step.job_instance_id);
            request.set_step_instance_id(step.step_instance_id);
            request.set_operation(v1::STEP_OPERATION_CONFIRM);
            v1::OperateStepResponse response;
            return stack_->stub().OperateStep(context, request, &response);
          });
        },
        pass);
    run_cells(
        "GetJobOutputs", "get_job_instance_global_var_value", read_cells(),
        [&] {
          return unary([&](grpc::ClientContext* context) {
            v1::GetJobOutputsRequest request;
            request.mutable_scope()->set_id("1");
            request.set_job_instance_id(at_confirmation.job_instance_id);
            v1::JobOutputs out;
            grpc::Status status = stack_->stub().GetJobOutputs(context, request, &out);
            if (status.ok()) EXPECT_EQ(out.variables_size(), 2);
            return status;
          });
        },
        pass);
    // Confirmations a fault kept waiting are refused straight on jobsim (one confirmed already
    // is refused in turn, which is fine), so no job is left for the idle check to wait on.
    for (const DirectJob& step : waiting)
      jobsim_operate_step(*stack_, step, kTerminateConfirmation);
    waiting.clear();
  });
}

TEST_F(FaultMatrixTest, WatchSurvivesTransientFaultsAndEndsOnJobErrors) {
  twice_with_stable_memory("watch", [&](int pass) {
    run_cells(
        "WatchStatus", "get_job_instance_status", watch_cells(),
        [&] {
          const DirectJob job =
              jobsim_submit_script(*stack_, "sleep 0.3; echo watched", {101, 102});
          Outcome out;
          std::vector<v1::StatusEvent> events;
          {
            grpc::ClientContext context;
            context.set_deadline(std::chrono::system_clock::now() + 60s);
            v1::WatchStatusRequest request;
            request.mutable_scope()->set_id("1");
            request.set_job_instance_id(job.job_instance_id);
            auto reader = stack_->stub().WatchStatus(&context, request);
            v1::StatusEvent event;
            while (reader->Read(&event)) events.push_back(event);
            out.status = reader->Finish();
            out.trailers = trailers_of(context);
          }
          if (out.status.ok()) {
            EXPECT_FALSE(events.empty());
            if (!events.empty()) {
              EXPECT_EQ(events.front().kind(), v1::EVENT_KIND_SNAPSHOT);
              EXPECT_EQ(events.back().kind(), v1::EVENT_KIND_FINISHED);
              EXPECT_EQ(events.back().snapshot().status(), v1::JOB_STATUS_SUCCESS);
              out.detail = "FINISHED";
            }
          }
          return out;
        },
        pass);
  });
}

}  // namespace
}  // namespace jobgw::testing
