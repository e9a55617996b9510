// `jobctl watch` (the real binary) across a jobgw SIGKILL and restart on the same port.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "tests/integration/gateway_stack.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using std::chrono::seconds;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(JobctlRestart, WatchRidesOutAJobgwSigkillAndRestartAndExitsZeroOnFinished) {
  GatewayStack stack(three_hosts());
  grpc::ClientContext context;
  v1::JobRef ref;
  ASSERT_TRUE(stack.stub()
                  .ExecuteScript(&context, script_request("sleep 15; echo done", {101, 102}), &ref)
                  .ok())
      << stack.logs();

  TempDir dir("jobctl-restart");
  const std::string out = dir.file("out"), err = dir.file("err");
  const std::string addr = "127.0.0.1:" + std::to_string(stack.grpc_port());
  ChildProcess watch("/bin/sh",
                     {"-c", "exec \"$0\" \"$@\" >'" + out + "' 2>'" + err + "'", JOBCTL_BINARY,
                      "--addr", addr, "watch", std::to_string(ref.job_instance_id()), "--json"},
                     dir.file("sh.log"));
  // The first event (the SNAPSHOT) printed: the stream is up.
  ASSERT_TRUE(
      wait_until([&] { return read_file(out).find('\n') != std::string::npos; }, seconds(20)))
      << read_file(err);
  ASSERT_EQ(read_file(out).find("EVENT_KIND_FINISHED"), std::string::npos)
      << "the job finished before jobgw could be killed";

  stack.stop_jobgw(SIGKILL);
  // jobctl notices the broken stream and backs off while nothing listens on the port, long
  // enough for its delays (and gRPC's own reconnect backoff) to have grown to seconds.
  ASSERT_TRUE(wait_until([&] { return read_file(err).find("attempt 5,") != std::string::npos; },
                         seconds(30)))
      << read_file(err);
  stack.start_jobgw_again();
  // jobgw listens again: jobctl is back within a second or so, not when its grown delay ends.
  // The bound is generous (a loaded machine); a watch that slept out its backoff took ~12 s.
  const auto listening = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return read_file(err).find("reconnected") != std::string::npos; },
                         seconds(30)))
      << read_file(err) << stack.logs();
  EXPECT_LT(std::chrono::steady_clock::now() - listening, seconds(3)) << read_file(err);

  const int status = watch.wait_exit(seconds(90));
  ASSERT_NE(status, -1) << "jobctl watch did not finish\n" << read_file(err) << stack.logs();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n"
                                                             << read_file(err) << stack.logs();
  const std::string printed = read_file(out);
  EXPECT_NE(printed.find("EVENT_KIND_FINISHED"), std::string::npos) << printed;
  EXPECT_NE(printed.find("JOB_STATUS_SUCCESS"), std::string::npos) << printed;
  // Said once, for the one outage.
  const std::string notes = read_file(err);
  EXPECT_EQ(notes.find("reconnected"), notes.rfind("reconnected")) << notes;
}

}  // namespace
}  // namespace jobgw::testing
