// Overload: beyond limits.max_streams and limits.max_inflight_job_calls a new call is refused at
// once with RESOURCE_EXHAUSTED naming the limit (and counted), instead of queuing; calls admitted
// before are unaffected, and a freed slot admits the next call.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <vector>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/stack_probes.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kMaxStreams = 4;
constexpr int kMaxCalls = 3;

class OverloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StackOptions options;
    options.jobgw_args = {"--limits.max_streams=" + std::to_string(kMaxStreams),
                          "--limits.max_inflight_job_calls=" + std::to_string(kMaxCalls),
                          "--watch.status_fresh_for_ms=0"};
    stack_ = std::make_unique<GatewayStack>(options);
  }
  void TearDown() override {
    if (HasFailure()) ADD_FAILURE() << stack_->logs();
  }

  double sample(const std::string& series) {
    return metric_sample(jobgw_metrics(*stack_), series).value_or(-1);
  }

  grpc::Status job_status(std::int64_t job, std::chrono::seconds deadline) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    v1::GetJobStatusRequest request;
    request.mutable_scope()->set_id("1");
    request.set_job_instance_id(job);
    v1::JobSnapshot snapshot;
    return stack_->stub().GetJobStatus(&context, request, &snapshot);
  }

  std::unique_ptr<GatewayStack> stack_;
};

TEST_F(OverloadTest, StreamsBeyondTheLimitAreRefusedAtOnce) {
  const DirectJob job = jobsim_submit_script(*stack_, "sleep 30", {101});
  const std::string in_use = "jobgw_admission_in_use{limit=\"limits.max_streams\"}";
  const std::string refused = "jobgw_admission_rejections_total{limit=\"limits.max_streams\"}";
  std::vector<std::unique_ptr<StreamWatcher>> open;
  for (int i = 0; i < kMaxStreams; ++i) {
    open.push_back(std::make_unique<StreamWatcher>(stack_->stub(), job.job_instance_id, 60s));
  }
  ASSERT_TRUE(wait_until([&] { return sample(in_use) == kMaxStreams; }, 20s));
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& w : open) {
          if (w->event_count() == 0) return false;
        }
        return true;
      },
      20s));

  // Twice, to see the refusal count, and with a deadline far beyond the job: a queued stream
  // would end with the job (OK) or its deadline, never RESOURCE_EXHAUSTED.
  for (int attempt = 0; attempt < 2; ++attempt) {
    StreamWatcher extra(stack_->stub(), job.job_instance_id, 60s);
    ASSERT_TRUE(wait_until([&] { return extra.ended(); }, 20s));
    EXPECT_EQ(extra.status().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_NE(extra.status().error_message().find("limits.max_streams"), std::string::npos)
        << extra.status().error_message();
    EXPECT_EQ(extra.event_count(), 0u);
  }
  EXPECT_EQ(sample(refused), 2);
  for (const auto& w : open) EXPECT_FALSE(w->ended()) << "an admitted stream was disturbed";

  // A stream that goes away frees its slot for the next caller.
  open.pop_back();
  ASSERT_TRUE(wait_until([&] { return sample(in_use) == kMaxStreams - 1; }, 20s));
  StreamWatcher next(stack_->stub(), job.job_instance_id, 60s);
  ASSERT_TRUE(wait_until([&] { return next.event_count() > 0 || next.ended(); }, 20s));
  EXPECT_FALSE(next.ended()) << next.status().error_message();

  ASSERT_TRUE(jobsim_terminate(*stack_, job.job_instance_id));
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& w : open) {
          if (!w->ended()) return false;
        }
        return next.ended();
      },
      60s));
  for (const auto& w : open) EXPECT_TRUE(w->status().ok()) << w->status().error_message();
  EXPECT_TRUE(wait_until([&] { return sample(in_use) == 0; }, 20s));
}

TEST_F(OverloadTest, UnaryCallsBeyondTheLimitAreRefusedWhileJobIsSlow) {
  const DirectJob job = jobsim_submit_script(*stack_, "true", {101});
  const std::string in_use = "jobgw_admission_in_use{limit=\"limits.max_inflight_job_calls\"}";
  const std::string refused =
      "jobgw_admission_rejections_total{limit=\"limits.max_inflight_job_calls\"}";
  ASSERT_TRUE(job_status(job.job_instance_id, 20s).ok());

  // JOB answers slowly: the first kMaxCalls calls hold every slot for 4 s.
  stack_->set_faults({"get_job_instance_status:latency=4000#" + std::to_string(kMaxCalls)});
  std::vector<std::future<grpc::Status>> slow;
  for (int i = 0; i < kMaxCalls; ++i) {
    slow.push_back(
        std::async(std::launch::async, [&] { return job_status(job.job_instance_id, 60s); }));
  }
  ASSERT_TRUE(wait_until([&] { return sample(in_use) == kMaxCalls; }, 20s));

  // Every other call is refused while they run, whatever it is; a caller deadline far beyond the
  // slow calls shows that nothing waited for a slot.
  grpc::Status over = job_status(job.job_instance_id, 60s);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << over.error_message();
  EXPECT_NE(over.error_message().find("limits.max_inflight_job_calls"), std::string::npos)
      << over.error_message();
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 60s);
    v1::JobRef ref;
    grpc::Status submit =
        stack_->stub().ExecuteScript(&context, script_request("true", {102}), &ref);
    EXPECT_EQ(submit.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << submit.error_message();
  }
  // Refused before anything was sent: the slow calls still hold every slot.
  EXPECT_EQ(sample(in_use), kMaxCalls);
  EXPECT_EQ(sample(refused), 2);

  for (auto& f : slow) {
    grpc::Status status = f.get();
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_TRUE(wait_until([&] { return sample(in_use) == 0; }, 20s));
  EXPECT_TRUE(job_status(job.job_instance_id, 20s).ok());
}

}  // namespace
}  // namespace jobgw::testing
