// GetIpLogs paging end to end: a job whose logs exceed jobgw's gRPC message limit comes back in
// pages, each under the limit, every host once and in order.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/gateway_stack.h"

namespace jobgw::testing {
namespace {

constexpr int kHosts = 300;
constexpr std::size_t kLogBytes = 8192;
constexpr std::size_t kMaxSend = 1024 * 1024;

struct Page {
  grpc::Status status;
  v1::GetIpLogsResponse response;
};

class LogPagingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    StackOptions options;
    options.hosts = kHosts;
    options.jobsim_args = {
        "--executor",         "synthetic", "--synthetic-min-ms",    "10",
        "--synthetic-max-ms", "100",       "--synthetic-log-bytes", std::to_string(kLogBytes)};
    options.jobgw_args = {"--grpc.max_send_message_bytes=" + std::to_string(kMaxSend)};
    stack_ = new GatewayStack(options);
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }

  // Runs a job on every host (or the first `hosts`) and waits for its end.
  static v1::JobRef finished_job(int hosts = kHosts) {
    std::vector<std::int64_t> ids;
    for (int i = 0; i < hosts; ++i) ids.push_back(101 + i);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::JobRef ref;
    grpc::Status status = stack_->stub().ExecuteScript(&context, script_request("x", ids), &ref);
    EXPECT_TRUE(status.ok()) << status.error_message();
    WatchResult w = watch_to_end(stack_->stub(), ref.job_instance_id());
    EXPECT_TRUE(w.status.ok()) << w.status.error_message() << stack_->logs();
    return ref;
  }

  static v1::GetIpLogsRequest request_for(const v1::JobRef& ref) {
    v1::GetIpLogsRequest request;
    request.mutable_scope()->set_id("1");
    request.set_job_instance_id(ref.job_instance_id());
    request.set_step_instance_id(ref.step_instance_id());
    return request;
  }

  static Page page(const v1::GetIpLogsRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    Page out;
    out.status = stack_->stub().GetIpLogs(&context, request, &out.response);
    return out;
  }

  static GatewayStack* stack_;
};

GatewayStack* LogPagingTest::stack_ = nullptr;

TEST_F(LogPagingTest, BigJobComesBackInPagesUnderTheLimit) {
  const v1::JobRef ref = finished_job();
  v1::GetIpLogsRequest request = request_for(ref);
  std::vector<std::int64_t> seen;
  std::size_t total_bytes = 0;
  int pages = 0;
  do {
    ASSERT_LT(++pages, 50) << "paging does not end";
    Page p = page(request);
    ASSERT_TRUE(p.status.ok()) << p.status.error_code() << " " << p.status.error_message()
                               << stack_->logs();
    const std::size_t bytes = p.response.ByteSizeLong();
    EXPECT_LE(bytes, kMaxSend);
    EXPECT_EQ(p.response.log_type(), v1::LOG_TYPE_SCRIPT);
    EXPECT_GT(p.response.script_logs_size(), 0);
    total_bytes += bytes;
    for (const auto& log : p.response.script_logs()) {
      seen.push_back(log.host().host_id());
      EXPECT_FALSE(log.truncated());
      EXPECT_EQ(log.content().size(), kLogBytes);
    }
    request.set_page_token(p.response.next_page_token());
  } while (!request.page_token().empty());
  // Without paging the answer would not have fit in one message.
  EXPECT_GT(total_bytes, kMaxSend);
  EXPECT_GE(pages, 3);
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kHosts));
  for (int i = 0; i < kHosts; ++i) EXPECT_EQ(seen[i], 101 + i);
}

TEST_F(LogPagingTest, TokenOfAnotherStepOrHostListIsInvalidArgument) {
  const v1::JobRef first = finished_job(40);
  const v1::JobRef second = finished_job(40);
  v1::GetIpLogsRequest request = request_for(first);
  request.set_max_response_bytes(64 * 1024);
  for (int i = 0; i < 40; ++i) request.add_host_ids(101 + i);
  Page p = page(request);
  ASSERT_TRUE(p.status.ok()) << p.status.error_message();
  const std::string token = p.response.next_page_token();
  ASSERT_FALSE(token.empty());

  v1::GetIpLogsRequest other_step = request_for(second);
  other_step.set_max_response_bytes(64 * 1024);
  *other_step.mutable_host_ids() = request.host_ids();
  other_step.set_page_token(token);
  Page wrong = page(other_step);
  EXPECT_EQ(wrong.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(wrong.status.error_message().find("page_token"), std::string::npos)
      << wrong.status.error_message();

  v1::GetIpLogsRequest other_hosts = request;
  other_hosts.mutable_host_ids()->RemoveLast();
  other_hosts.set_page_token(token);
  Page fewer = page(other_hosts);
  EXPECT_EQ(fewer.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(fewer.status.error_message().find("page_token"), std::string::npos);

  v1::GetIpLogsRequest malformed = request;
  malformed.set_page_token("not-a-token");
  Page bad = page(malformed);
  EXPECT_EQ(bad.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.status.error_message().find("page_token"), std::string::npos);

  v1::GetIpLogsRequest tiny = request;
  tiny.set_max_response_bytes(100);
  Page small = page(tiny);
  EXPECT_EQ(small.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(small.status.error_message().find("max_response_bytes"), std::string::npos);

  // The token still continues its own request.
  request.set_page_token(token);
  Page next = page(request);
  ASSERT_TRUE(next.status.ok()) << next.status.error_message();
  ASSERT_GT(next.response.script_logs_size(), 0);
  EXPECT_EQ(next.response.script_logs(0).host().host_id(), 101 + p.response.script_logs_size());
}

TEST_F(LogPagingTest, HostLargerThanAPageIsTruncatedAndMarked) {
  const v1::JobRef ref = finished_job(2);
  v1::GetIpLogsRequest request = request_for(ref);
  request.set_step_instance_id(0);  // the first step, via the status snapshot
  request.set_max_response_bytes(4096);
  std::vector<std::int64_t> seen;
  int pages = 0;
  do {
    ASSERT_LT(++pages, 10);
    Page p = page(request);
    ASSERT_TRUE(p.status.ok()) << p.status.error_message();
    EXPECT_LE(p.response.ByteSizeLong(), 4096u);
    ASSERT_EQ(p.response.script_logs_size(), 1);
    const v1::ScriptLog& log = p.response.script_logs(0);
    seen.push_back(log.host().host_id());
    EXPECT_TRUE(log.truncated());
    EXPECT_GT(log.content().size(), 3000u);
    EXPECT_LT(log.content().size(), kLogBytes);
    EXPECT_EQ(log.content().rfind("[jobsim synthetic] host " + std::to_string(seen.back()), 0), 0u);
    request.set_page_token(p.response.next_page_token());
  } while (!request.page_token().empty());
  EXPECT_EQ(seen, (std::vector<std::int64_t>{101, 102}));
}

}  // namespace
}  // namespace jobgw::testing
