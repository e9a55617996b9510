// The client library and `jobctl logs` follow GetIpLogs pages to the end on their own, against a
// real jobsim + jobgw whose message limit forces several pages.
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "client/commands.h"
#include "client/gateway_client.h"
#include "tests/integration/gateway_stack.h"

namespace jobgw::client {
namespace {

using jobgw::testing::GatewayStack;

constexpr int kHosts = 40;
constexpr int kLogBytes = 4000;

class ClientLogPages : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    jobgw::testing::StackOptions options;
    options.hosts = kHosts;
    options.jobsim_args = {
        "--executor",         "synthetic", "--synthetic-min-ms",    "10",
        "--synthetic-max-ms", "50",        "--synthetic-log-bytes", std::to_string(kLogBytes)};
    // About 15 hosts of 4000 bytes per page.
    options.jobgw_args = {"--grpc.max_send_message_bytes=65536"};
    stack_ = std::make_unique<GatewayStack>(options);
    std::vector<std::int64_t> ids;
    for (int i = 0; i < kHosts; ++i) ids.push_back(101 + i);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status status =
        stack_->stub().ExecuteScript(&context, jobgw::testing::script_request("x", ids), &job_);
    ASSERT_TRUE(status.ok()) << status.error_message();
    auto watched = jobgw::testing::watch_to_end(stack_->stub(), job_.job_instance_id());
    ASSERT_TRUE(watched.status.ok()) << watched.status.error_message();
  }
  static void TearDownTestSuite() { stack_.reset(); }

  static std::string addr() { return "127.0.0.1:" + std::to_string(stack_->grpc_port()); }
  static v1::GetIpLogsRequest request() {
    v1::GetIpLogsRequest r;
    r.mutable_scope()->set_id("1");
    r.set_job_instance_id(job_.job_instance_id());
    r.set_step_instance_id(job_.step_instance_id());
    return r;
  }

  static std::unique_ptr<GatewayStack> stack_;
  static v1::JobRef job_;
};
std::unique_ptr<GatewayStack> ClientLogPages::stack_;
v1::JobRef ClientLogPages::job_;

TEST_F(ClientLogPages, ForEachPageVisitsEveryHostOnceInOrder) {
  GatewayClient client(GatewayClient::insecure_channel(addr()));
  std::vector<std::int64_t> seen;
  int pages = 0;
  auto last = client.for_each_ip_logs_page(request(), [&](const v1::GetIpLogsResponse& page) {
    ++pages;
    EXPECT_LE(page.ByteSizeLong(), 65536u);
    for (const auto& log : page.script_logs()) seen.push_back(log.host().host_id());
  });
  ASSERT_TRUE(last.ok()) << last.status.error_message();
  EXPECT_TRUE(last.response.next_page_token().empty());
  EXPECT_GE(pages, 3);
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kHosts));
  for (int i = 0; i < kHosts; ++i) EXPECT_EQ(seen[i], 101 + i);
}

TEST_F(ClientLogPages, GetAllMergesThePages) {
  GatewayClient client(GatewayClient::insecure_channel(addr()));
  v1::GetIpLogsRequest r = request();
  r.set_max_response_bytes(8192);  // one host per page
  auto all = client.get_all_ip_logs(r);
  ASSERT_TRUE(all.ok()) << all.status.error_message();
  EXPECT_EQ(all.response.log_type(), v1::LOG_TYPE_SCRIPT);
  EXPECT_TRUE(all.response.next_page_token().empty());
  ASSERT_EQ(all.response.script_logs_size(), kHosts);
  for (int i = 0; i < kHosts; ++i) {
    EXPECT_EQ(all.response.script_logs(i).host().host_id(), 101 + i);
    EXPECT_EQ(all.response.script_logs(i).content().size(), static_cast<std::size_t>(kLogBytes));
  }
}

TEST_F(ClientLogPages, FailedPageIsReturned) {
  GatewayClient client(GatewayClient::insecure_channel(addr()));
  v1::GetIpLogsRequest r = request();
  r.set_page_token("lp1.0.0.0");
  int pages = 0;
  auto result = client.for_each_ip_logs_page(r, [&](const v1::GetIpLogsResponse&) { ++pages; });
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(pages, 0);
}

TEST_F(ClientLogPages, JobctlLogsPrintsEveryHostOfEveryPage) {
  std::ostringstream out, err;
  std::istringstream in;
  const int code = jobctl_main({"--addr", addr(), "logs", std::to_string(job_.job_instance_id())},
                               CommandIo{out, err, in});
  ASSERT_EQ(code, kExitOk) << err.str();
  std::istringstream text(out.str());
  std::string line;
  std::vector<std::int64_t> first_lines;
  while (std::getline(text, line)) {
    // Each host's log starts with the synthetic executor's own line naming the host.
    const auto at = line.find("] [jobsim synthetic] host ");
    if (at == std::string::npos) continue;
    first_lines.push_back(std::stoll(line.substr(at + 26)));
  }
  ASSERT_EQ(first_lines.size(), static_cast<std::size_t>(kHosts)) << out.str().substr(0, 2000);
  for (int i = 0; i < kHosts; ++i) EXPECT_EQ(first_lines[i], 101 + i);
  EXPECT_EQ(out.str().find("truncated"), std::string::npos);
}

}  // namespace
}  // namespace jobgw::client
