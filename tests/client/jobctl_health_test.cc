// `jobctl health` (the real binary): jobgw's own state and JOB's as jobgw sees it, against a
// stack whose JOB goes down, and against a jobgw too old to report JOB.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "tests/integration/gateway_stack.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

struct Health {
  int code = -1;
  std::string out;
  std::string err;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Health jobctl_health(const std::string& addr, const std::vector<std::string>& extra = {}) {
  TempDir dir("jobctl-health");
  const std::string out = dir.file("out"), err = dir.file("err");
  std::vector<std::string> sh = {"-c",          "exec \"$0\" \"$@\" >'" + out + "' 2>'" + err + "'",
                                 JOBCTL_BINARY, "--addr",
                                 addr,          "health"};
  sh.insert(sh.end(), extra.begin(), extra.end());
  ChildProcess child("/bin/sh", sh, dir.file("sh.log"));
  Health h;
  const int status = child.wait_exit(60s);
  if (status == -1) {
    child.stop();
    ADD_FAILURE() << "jobctl health did not finish";
  } else if (WIFEXITED(status)) {
    h.code = WEXITSTATUS(status);
  }
  h.out = read_file(out);
  h.err = read_file(err);
  return h;
}

TEST(JobctlHealth, JobDownLeavesJobgwServingAndExit0UnlessJobIsRequired) {
  GatewayStack stack({.hosts = 1,
                      .jobsim_args = {},
                      .jobgw_args = {"--job.unreachable_after_ms=1000"},
                      .callback = false,
                      .credentials_json = {}});
  const std::string addr = "127.0.0.1:" + std::to_string(stack.grpc_port());
  ASSERT_TRUE(wait_until([&] { return jobctl_health(addr, {"--require-job"}).code == 0; }, 20s))
      << jobctl_health(addr).out << stack.logs();
  EXPECT_EQ(jobctl_health(addr).out, "jobgw: SERVING\nJOB: SERVING\n");

  stack.set_faults({"*:status=503"});
  Health down;
  ASSERT_TRUE(wait_until(
      [&] {
        down = jobctl_health(addr);
        return down.out.find("JOB: NOT_SERVING") != std::string::npos;
      },
      30s))
      << down.out << down.err << stack.logs();
  EXPECT_EQ(down.code, 0) << down.err;
  EXPECT_EQ(down.out, "jobgw: SERVING\nJOB: NOT_SERVING (jobgw cannot reach JOB)\n");
  EXPECT_EQ(down.err, "");
  auto required = jobctl_health(addr, {"--require-job"});
  EXPECT_EQ(required.code, 1);
  EXPECT_EQ(required.out, down.out);
}

// A jobgw from before the JOB check: its health service knows only what it serves.
class OldGateway final : public v1::JobGateway::Service {};

TEST(JobctlHealth, AJobgwThatDoesNotReportJobSaysUnknown) {
  grpc::EnableDefaultHealthCheckService(true);
  OldGateway service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  server->GetHealthCheckService()->SetServingStatus("jobgw.v1.JobGateway", true);
  const std::string addr = "127.0.0.1:" + std::to_string(port);
  auto h = jobctl_health(addr);
  EXPECT_EQ(h.code, 0) << h.err;
  EXPECT_EQ(h.out, "jobgw: SERVING\nJOB: unknown (this jobgw does not report it)\n");
  EXPECT_EQ(jobctl_health(addr, {"--require-job"}).code, 1);
  server->GetHealthCheckService()->SetServingStatus("jobgw.v1.JobGateway", false);
  auto not_serving = jobctl_health(addr);
  EXPECT_EQ(not_serving.code, 1);
  EXPECT_EQ(not_serving.out.rfind("jobgw: NOT_SERVING\n", 0), 0u) << not_serving.out;
  server->Shutdown(std::chrono::system_clock::now() + 2s);
}

}  // namespace
}  // namespace jobgw::testing
