// What jobctl's client library sends: `authorization: Bearer TOKEN` on every kind of call, seen
// by a local gRPC server standing in for jobgw; and `jobctl token hash` entries jobgw accepts.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "client/commands.h"
#include "client/gateway_client.h"
#include "client/token_command.h"
#include "core/security/credentials.h"
#include "jobgw/v1/job_gateway.grpc.pb.h"

namespace jobgw::client {
namespace {

// Records the authorization metadata of every call and answers each right away.
class RecordingService final : public v1::JobGateway::CallbackService {
 public:
  std::vector<std::string> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

  grpc::ServerUnaryReactor* GetJobStatus(grpc::CallbackServerContext* context,
                                         const v1::GetJobStatusRequest*,
                                         v1::JobSnapshot* response) override {
    record(context);
    response->set_status(v1::JOB_STATUS_SUCCESS);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerUnaryReactor* TerminateJob(grpc::CallbackServerContext* context,
                                         const v1::TerminateJobRequest*,
                                         v1::TerminateJobResponse*) override {
    record(context);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no"));
    return reactor;
  }
  grpc::ServerWriteReactor<v1::StatusEvent>* WatchStatus(grpc::CallbackServerContext* context,
                                                         const v1::WatchStatusRequest*) override {
    record(context);
    class Done : public grpc::ServerWriteReactor<v1::StatusEvent> {
     public:
      Done() { Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no")); }
      void OnDone() override { delete this; }
    };
    return new Done;
  }

 private:
  void record(grpc::CallbackServerContext* context) {
    std::string value;
    auto range = context->client_metadata().equal_range("authorization");
    for (auto it = range.first; it != range.second; ++it) {
      value += std::string(it->second.data(), it->second.size());
    }
    std::lock_guard<std::mutex> lock(mu_);
    seen_.push_back(value);
  }
  std::mutex mu_;
  std::vector<std::string> seen_;
};

class BearerTokenTest : public ::testing::Test {
 protected:
  BearerTokenTest() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~BearerTokenTest() override { server_->Shutdown(std::chrono::system_clock::now()); }

  GatewayClient client() {
    return GatewayClient(GatewayClient::insecure_channel("127.0.0.1:" + std::to_string(port_)),
                         std::chrono::seconds(10));
  }

  RecordingService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(BearerTokenTest, EveryCallCarriesTheToken) {
  ASSERT_NE(port_, 0);
  GatewayClient c = client();
  c.set_bearer_token("s3cret-token");
  v1::GetJobStatusRequest status;
  EXPECT_TRUE(c.get_job_status(status).ok());
  v1::TerminateJobRequest terminate;
  EXPECT_EQ(c.terminate_job(terminate).status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  WatchOptions once;
  once.reconnect = false;
  EXPECT_EQ(c.watch(
                 v1::Scope(), 1, 0, [](const v1::StatusEvent&) {}, once)
                .status.error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(service_.seen(), std::vector<std::string>(3, "Bearer s3cret-token"));
}

TEST_F(BearerTokenTest, NoTokenNoHeader) {
  GatewayClient c = client();
  v1::GetJobStatusRequest status;
  EXPECT_TRUE(c.get_job_status(status).ok());
  EXPECT_EQ(service_.seen(), std::vector<std::string>{""});
}

TEST_F(BearerTokenTest, JobctlSendsTheFlagOrEnvTokenAndNeverPrintsIt) {
  const std::string addr = "127.0.0.1:" + std::to_string(port_);
  std::ostringstream out, err;
  std::istringstream in;
  CommandIo io{out, err, in, false};
  EXPECT_EQ(jobctl_main({"--addr", addr, "--token", "flag-token-123", "terminate", "9"}, io),
            kExitRpcError);
  ::setenv("JOBGW_TOKEN", "env-token-456", 1);
  EXPECT_EQ(jobctl_main({"--addr", addr, "terminate", "9"}, io), kExitRpcError);
  EXPECT_EQ(jobctl_main({"--addr", addr, "--token", "flag-wins-789", "terminate", "9"}, io),
            kExitRpcError);
  ::unsetenv("JOBGW_TOKEN");
  EXPECT_EQ(service_.seen(),
            (std::vector<std::string>{"Bearer flag-token-123", "Bearer env-token-456",
                                      "Bearer flag-wins-789"}));
  std::string printed = out.str() + err.str();
  EXPECT_NE(printed.find("UNAUTHENTICATED"), std::string::npos) << printed;
  for (const char* token : {"flag-token-123", "env-token-456", "flag-wins-789"}) {
    EXPECT_EQ(printed.find(token), std::string::npos) << printed;
  }
}

TEST(TokenHash, DigestIsSha256Hex) {
  EXPECT_EQ(token_digest_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(token_digest_hex("abc"), core::token_sha256_hex("abc"));
}

// The printed entry is a valid credentials-file entry that authenticates the token.
TEST(TokenHash, EntryFromStdinIsAcceptedByJobgw) {
  std::ostringstream out, err;
  std::istringstream in("caller-token-xyz\n");
  CommandIo io{out, err, in, false};
  ASSERT_EQ(jobctl_main({"token", "hash"}, io), kExitOk) << err.str();
  EXPECT_EQ(out.str().find("caller-token-xyz"), std::string::npos);
  EXPECT_TRUE(err.str().empty()) << err.str();
  auto credentials = core::Credentials::parse("{\"callers\": [" + out.str() + "]}");
  ASSERT_TRUE(credentials.ok()) << credentials.error().message;
  const core::Caller* caller = credentials.value().authenticate("caller-token-xyz");
  ASSERT_NE(caller, nullptr);
  EXPECT_EQ(caller->name, "CHANGE-ME");
  EXPECT_EQ(credentials.value().authenticate("caller-token-xy"), nullptr);
}

TEST(TokenHash, GenerateMakesAFreshTokenShownOnce) {
  std::string tokens[2];
  for (auto& token : tokens) {
    std::ostringstream out, err;
    std::istringstream in;
    CommandIo io{out, err, in, false};
    ASSERT_EQ(jobctl_main({"token", "hash", "--generate"}, io), kExitOk);
    std::istringstream lines(err.str());
    std::string line;
    while (std::getline(lines, line)) token = line;  // the last line is the token
    ASSERT_EQ(token.size(), 64u) << err.str();
    EXPECT_EQ(out.str().find(token), std::string::npos);
    auto credentials = core::Credentials::parse("{\"callers\": [" + out.str() + "]}");
    ASSERT_TRUE(credentials.ok());
    EXPECT_NE(credentials.value().authenticate(token), nullptr);
  }
  EXPECT_NE(tokens[0], tokens[1]);
}

TEST(TokenHash, EmptyStdinIsAUsageError) {
  std::ostringstream out, err;
  std::istringstream in("");
  CommandIo io{out, err, in, false};
  EXPECT_EQ(jobctl_main({"token", "hash"}, io), kExitUsage);
  EXPECT_NE(err.str().find("stdin"), std::string::npos);
}

}  // namespace
}  // namespace jobgw::client
