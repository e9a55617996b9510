// The real jobctl binary against a jobgw serving TLS (and mTLS) with a CA made at test time.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "tests/integration/gateway_stack.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ca.h"

namespace jobgw::client {
namespace {

using jobgw::testing::CertFiles;
using jobgw::testing::ChildProcess;
using jobgw::testing::GatewayStack;
using jobgw::testing::read_text_file;
using jobgw::testing::StackOptions;
using jobgw::testing::TempDir;
using jobgw::testing::TestCa;

struct JobctlRun {
  int code = -1;
  std::string out;
  std::string err;
};

JobctlRun jobctl(const std::vector<std::string>& args) {
  static int counter = 0;
  TempDir dir("jobctl-tls-run");
  std::string out = dir.file("out"), err = dir.file("err");
  std::vector<std::string> sh = {"-c", "exec \"$0\" \"$@\" >'" + out + "' 2>'" + err + "'",
                                 JOBCTL_BINARY};
  sh.insert(sh.end(), args.begin(), args.end());
  ChildProcess child("/bin/sh", sh, dir.file("sh" + std::to_string(++counter) + ".log"));
  int status = child.wait_exit(std::chrono::seconds(60));
  JobctlRun r;
  if (status == -1) {
    child.stop();
    ADD_FAILURE() << "jobctl did not finish within 60 s";
  } else if (WIFEXITED(status)) {
    r.code = WEXITSTATUS(status);
  }
  r.out = read_text_file(out);
  r.err = read_text_file(err);
  return r;
}

GatewayStack tls_stack(const CertFiles& server, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--tls.cert_file=" + server.cert_file,
                                   "--tls.key_file=" + server.key_file};
  args.insert(args.end(), extra.begin(), extra.end());
  return GatewayStack(jobgw::testing::three_hosts({}, args));
}

TEST(JobctlTls, ExecWatchOverTlsAndUntrustedServerRefused) {
  TempDir certs("jobctl-tls");
  TestCa ca(certs.path(), "main");
  TestCa other(certs.path(), "other");
  CertFiles server = ca.server_cert("server");
  GatewayStack stack = tls_stack(server);
  const std::string addr = "127.0.0.1:" + std::to_string(stack.grpc_port());

  JobctlRun run = jobctl({"--addr", addr, "--ca-file", ca.ca_file(), "exec", "-c", "echo tls-ok",
                          "--host-ids", "101", "--watch", "--logs", "--plain"});
  EXPECT_EQ(run.code, 0) << run.out << run.err << stack.logs();
  EXPECT_NE(run.out.find("tls-ok"), std::string::npos) << run.out;

  JobctlRun untrusted = jobctl({"--addr", addr, "--ca-file", other.ca_file(), "health"});
  EXPECT_EQ(untrusted.code, 3) << untrusted.out << untrusted.err;
  EXPECT_NE(untrusted.err.find("cannot reach jobgw at " + addr + ": TLS handshake failed"),
            std::string::npos)
      << untrusted.err;
  JobctlRun plaintext = jobctl({"--addr", addr, "--rpc-timeout", "5", "health"});
  EXPECT_EQ(plaintext.code, 3) << plaintext.out << plaintext.err;

  JobctlRun missing = jobctl({"--addr", addr, "--ca-file", certs.file("nope.pem"), "health"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("--ca-file " + certs.file("nope.pem")), std::string::npos)
      << missing.err;
}

TEST(JobctlTls, ServerNameOverrideAndClientCertificate) {
  TempDir certs("jobctl-mtls");
  TestCa ca(certs.path(), "main");
  // The certificate names only jobgw.internal, not the address jobctl dials.
  CertFiles server = ca.server_cert("server", {"jobgw.internal"});
  CertFiles client = ca.client_cert("client", "ops-cli");
  GatewayStack stack =
      tls_stack(server, {"--tls.client_ca_file=" + ca.ca_file(), "--tls.require_client_cert=true"});
  const std::string addr = "127.0.0.1:" + std::to_string(stack.grpc_port());
  const std::vector<std::string> base = {"--addr", addr, "--ca-file", ca.ca_file()};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = base;
    args.insert(args.end(), more.begin(), more.end());
    args.push_back("health");
    return jobctl(args);
  };

  JobctlRun ok = with({"--server-name", "jobgw.internal", "--cert-file", client.cert_file,
                       "--key-file", client.key_file});
  EXPECT_EQ(ok.code, 0) << ok.out << ok.err << stack.logs();
  EXPECT_EQ(ok.out.rfind("jobgw: SERVING\nJOB: ", 0), 0u) << ok.out;
  JobctlRun wrong_name = with({"--cert-file", client.cert_file, "--key-file", client.key_file});
  EXPECT_EQ(wrong_name.code, 3) << wrong_name.err;
  JobctlRun no_cert = with({"--server-name", "jobgw.internal"});
  EXPECT_EQ(no_cert.code, 3) << no_cert.err;
  EXPECT_NE(no_cert.err.find("cannot reach jobgw at " + addr), std::string::npos) << no_cert.err;
}

}  // namespace
}  // namespace jobgw::client
