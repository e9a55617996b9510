// A whole gateway in the test's own process (server/gateway.h, what jobgw's main() runs),
// against jobsim as a real process: start, serve over gRPC and /metrics, stop; and a start that
// fails names its key and leaves nothing running.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "server/gateway.h"
#include "tests/integration/gateway_stack.h"
#include "tests/support/child_process.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;
using server::Gateway;
using server::GatewayConfig;

class GatewayInProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    jobsim_ = std::make_unique<ChildProcess>(
        JOBSIM_BINARY,
        std::vector<std::string>{"--listen", "127.0.0.1:0", "--port-file", dir_.file("jobsim.port"),
                                 "--hosts", "3", "--data-dir", dir_.file("sim-data")},
        dir_.file("jobsim.log"));
    jobsim_port_ = wait_for_port_file(dir_.file("jobsim.port"), 20s);
    ASSERT_GT(jobsim_port_, 0) << jobsim_->log();
  }

  GatewayConfig config() const {
    GatewayConfig c;
    c.grpc.listen = "127.0.0.1:0";
    c.metrics.listen = "127.0.0.1:0";
    c.job.http.base_url = "http://127.0.0.1:" + std::to_string(jobsim_port_);
    c.state.path = dir_.file("state.db");
    c.auth.audit_path = dir_.file("audit.log");
    c.auth.insecure_dev = true;
    c.threads = 2;
    return c;
  }

  TempDir dir_{"jobgw-in-process"};
  std::unique_ptr<ChildProcess> jobsim_;
  int jobsim_port_ = 0;
};

TEST_F(GatewayInProcess, StartsServesAndStops) {
  Gateway gateway(config());
  auto error = gateway.start();
  ASSERT_FALSE(error.has_value()) << error->key << ": " << error->message;
  ASSERT_GT(gateway.grpc_port(), 0);
  ASSERT_GT(gateway.metrics_port(), 0);
  EXPECT_EQ(gateway.callback_port(), 0);

  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(gateway.grpc_port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::JobGateway::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 20s);
  v1::JobRef ref;
  grpc::Status status =
      stub->ExecuteScript(&context, script_request("echo in-process", {101, 102}), &ref);
  ASSERT_TRUE(status.ok()) << status.error_message();
  WatchResult watched = watch_to_end(*stub, ref.job_instance_id(), 0, 30s);
  ASSERT_TRUE(watched.status.ok()) << watched.status.error_message();
  ASSERT_FALSE(watched.events.empty());
  EXPECT_EQ(watched.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(watched.events.back().snapshot().status(), v1::JOB_STATUS_SUCCESS);

  HttpResponse metrics = http_get(gateway.metrics_port(), "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("jobgw_rpc_requests_total{code=\"OK\",method=\"ExecuteScript\"} 1"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("jobgw_job_http_attempts_total{api=\"fast_execute_script\""),
            std::string::npos);

  gateway.stop(1s);
  gateway.stop(1s);  // idempotent
  grpc::ClientContext after;
  after.set_deadline(std::chrono::system_clock::now() + 2s);
  v1::JobSnapshot snapshot;
  v1::GetJobStatusRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(ref.job_instance_id());
  EXPECT_FALSE(stub->GetJobStatus(&after, request, &snapshot).ok()) << "stopped means stopped";
}

TEST_F(GatewayInProcess, AFailedStartNamesItsKeyAndLeavesNothingRunning) {
  GatewayConfig no_auth = config();
  no_auth.auth.insecure_dev = false;
  Gateway without_credentials(no_auth);
  auto error = without_credentials.start();
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->key, "auth.credentials_file");
  EXPECT_EQ(error->exit_code, 1);

  GatewayConfig bad_state = config();
  bad_state.state.path = dir_.file("no-such-dir/state.db");
  Gateway without_state(bad_state);
  error = without_state.start();
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->key, "state.path");

  // Past the io threads and the hub: they are stopped again, and the port is free.
  GatewayConfig bad_metrics = config();
  bad_metrics.metrics.listen = "127.0.0.1:99999";
  Gateway without_metrics(bad_metrics);
  error = without_metrics.start();
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->key, "metrics.listen");
  EXPECT_EQ(without_metrics.grpc_port(), 0);
}

}  // namespace
}  // namespace jobgw::testing
