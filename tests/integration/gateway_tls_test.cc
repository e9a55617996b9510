// TLS on jobgw's listeners with a CA made at test time: gRPC over TLS and mutual TLS, renewed
// certificates picked up without a restart, HTTPS /metrics, and startup refusing unusable files.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/metrics_text.h"
#include "tests/support/child_process.h"
#include "tests/support/https_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ca.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<grpc::ChannelCredentials> trusting(const TestCa& ca,
                                                   const CertFiles* client = nullptr) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca.ca_pem();
  if (client != nullptr) {
    ssl.pem_cert_chain = read_text_file(client->cert_file);
    ssl.pem_private_key = read_text_file(client->key_file);
  }
  return grpc::SslCredentials(ssl);
}

std::vector<std::string> tls_args(const CertFiles& server) {
  return {"--tls.cert_file=" + server.cert_file, "--tls.key_file=" + server.key_file};
}

// One GetJobStatus for a job that does not exist over a fresh channel: NOT_FOUND (or any answer
// from the service) means the TLS handshake succeeded; UNAVAILABLE means it did not.
grpc::Status probe(int port, std::shared_ptr<grpc::ChannelCredentials> credentials) {
  // A distinct channel argument keeps gRPC from reusing a subchannel (and its handshake) from an
  // earlier probe with other credentials.
  grpc::ChannelArguments args;
  static int probe_number = 0;
  args.SetInt("jobgw.test.probe", ++probe_number);
  auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), credentials, args);
  auto stub = v1::JobGateway::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  v1::GetJobStatusRequest request;
  request.mutable_scope()->set_type("biz");
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(987654321);
  v1::JobSnapshot response;
  return stub->GetJobStatus(&context, request, &response);
}

bool handshake_ok(const grpc::Status& s) { return s.error_code() != grpc::StatusCode::UNAVAILABLE; }

void run_script_to_finished(v1::JobGateway::Stub& stub, const GatewayStack& stack) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 30s);
  v1::JobRef ref;
  grpc::Status status =
      stub.ExecuteScript(&context, script_request("echo over tls", {101, 102}), &ref);
  ASSERT_TRUE(status.ok()) << status.error_message() << stack.logs();
  WatchResult w = watch_to_end(stub, ref.job_instance_id(), 0, 60s);
  ASSERT_TRUE(w.status.ok()) << w.status.error_message() << stack.logs();
  ASSERT_FALSE(w.events.empty());
  EXPECT_EQ(w.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(w.events.back().snapshot().status(), v1::JOB_STATUS_SUCCESS);
}

TEST(GatewayTls, ScriptRunsToFinishedOverTlsAndPlaintextIsRefused) {
  TempDir certs("jobgw-tls");
  TestCa ca(certs.path(), "main");
  CertFiles server = ca.server_cert("server");
  StackOptions options = three_hosts({}, tls_args(server));
  GatewayStack stack(options);
  stack.use_grpc_credentials(trusting(ca));

  run_script_to_finished(stack.stub(), stack);

  grpc::Status plain = probe(stack.grpc_port(), grpc::InsecureChannelCredentials());
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << plain.error_message();
  TestCa other(certs.path(), "other");
  grpc::Status untrusted = probe(stack.grpc_port(), trusting(other));
  EXPECT_EQ(untrusted.error_code(), grpc::StatusCode::UNAVAILABLE) << untrusted.error_message();
  EXPECT_NE(stack.jobgw().log().find("grpc_tls=tls"), std::string::npos) << stack.logs();
}

TEST(GatewayTls, ClientCertificatesAreVerifiedWhenPresented) {
  TempDir certs("jobgw-mtls");
  TestCa ca(certs.path(), "main");
  TestCa other(certs.path(), "other");
  CertFiles server = ca.server_cert("server");
  CertFiles good = ca.client_cert("good", "logcheck", {"logcheck.svc"});
  CertFiles forged = other.client_cert("forged", "logcheck", {"logcheck.svc"});
  std::vector<std::string> args = tls_args(server);
  args.push_back("--tls.client_ca_file=" + ca.ca_file());
  StackOptions options = three_hosts({}, args);
  GatewayStack stack(options);
  stack.use_grpc_credentials(trusting(ca, &good));

  run_script_to_finished(stack.stub(), stack);
  // Not required: a bearer-token caller without a certificate still gets through the handshake.
  grpc::Status bare = probe(stack.grpc_port(), trusting(ca));
  EXPECT_TRUE(handshake_ok(bare)) << bare.error_message();
  grpc::Status refused = probe(stack.grpc_port(), trusting(ca, &forged));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  EXPECT_NE(stack.jobgw().log().find("grpc_tls=mtls"), std::string::npos) << stack.logs();
}

TEST(GatewayTls, RequiredClientCertificateRefusesCallersWithoutOne) {
  TempDir certs("jobgw-mtls-req");
  TestCa ca(certs.path(), "main");
  CertFiles server = ca.server_cert("server");
  CertFiles good = ca.client_cert("good", "dashboard");
  std::vector<std::string> args = tls_args(server);
  args.push_back("--tls.client_ca_file=" + ca.ca_file());
  args.push_back("--tls.require_client_cert=true");
  StackOptions options = three_hosts({}, args);
  GatewayStack stack(options);
  stack.use_grpc_credentials(trusting(ca, &good));

  grpc::Status with_cert = probe(stack.grpc_port(), trusting(ca, &good));
  EXPECT_EQ(with_cert.error_code(), grpc::StatusCode::NOT_FOUND) << with_cert.error_message();
  grpc::Status bare = probe(stack.grpc_port(), trusting(ca));
  EXPECT_EQ(bare.error_code(), grpc::StatusCode::UNAVAILABLE) << bare.error_message();
}

TEST(GatewayTls, RenewedCertificateIsServedWithoutRestart) {
  TempDir certs("jobgw-tls-reload");
  TestCa first(certs.path(), "first");
  TestCa second(certs.path(), "second");
  CertFiles server = first.server_cert("server");
  std::vector<std::string> args = tls_args(server);
  args.push_back("--tls.reload_interval_s=1");
  StackOptions options = three_hosts({}, args);
  GatewayStack stack(options);

  ASSERT_TRUE(handshake_ok(probe(stack.grpc_port(), trusting(first))));
  ASSERT_FALSE(handshake_ok(probe(stack.grpc_port(), trusting(second))));
  // The same paths now hold a certificate of the second CA.
  second.write_server_cert(server);
  bool renewed = wait_until(
      [&] { return handshake_ok(probe(stack.grpc_port(), trusting(second))); }, 60s, 200ms);
  ASSERT_TRUE(renewed) << stack.logs();
  EXPECT_FALSE(handshake_ok(probe(stack.grpc_port(), trusting(first))));
  EXPECT_TRUE(stack.jobgw().running());
}

TEST(GatewayTls, MetricsOverHttps) {
  TempDir certs("jobgw-https");
  TestCa ca(certs.path(), "main");
  CertFiles server = ca.server_cert("metrics");
  GatewayStack stack(three_hosts({}, {"--metrics.tls_cert_file=" + server.cert_file,
                                      "--metrics.tls_key_file=" + server.key_file}));

  HttpResponse scrape = https_request("GET", stack.metrics_port(), "/metrics", ca.ca_file());
  ASSERT_EQ(scrape.status, 200) << scrape.error << stack.logs();
  EXPECT_NE(scrape.body.find("jobgw_callbacks_total"), std::string::npos);
  HttpResponse plain = http_get(stack.metrics_port(), "/metrics");
  EXPECT_NE(plain.status, 200);
  TestCa other(certs.path(), "other");
  HttpResponse untrusted = https_request("GET", stack.metrics_port(), "/metrics", other.ca_file());
  EXPECT_EQ(untrusted.status, 0);
  EXPECT_NE(untrusted.error.find("handshake"), std::string::npos) << untrusted.error;
  // The listener survives both bad clients.
  EXPECT_EQ(https_request("GET", stack.metrics_port(), "/healthz", ca.ca_file()).status, 200);
}

// jobgw's exit status and output when started with `args`; it must exit by itself.
std::pair<int, std::string> refused_start(const TempDir& dir,
                                          const std::vector<std::string>& args) {
  std::vector<std::string> all = {"--grpc.listen=127.0.0.1:0",
                                  "--metrics.listen=", "--state.path=", "--log.level=info",
                                  "--insecure-dev"};
  all.insert(all.end(), args.begin(), args.end());
  static int run = 0;
  ChildProcess jobgw(jobgw_binary(), all, dir.file("refused" + std::to_string(++run) + ".log"));
  int status = jobgw.wait_exit(30s);
  if (status == -1) {
    jobgw.stop();
    ADD_FAILURE() << "jobgw kept running with " << args.front();
  }
  return {status, jobgw.log()};
}

TEST(GatewayTls, StartupFailsNamingTheKeyAndFile) {
  TempDir certs("jobgw-tls-bad");
  TestCa ca(certs.path(), "main");
  CertFiles server = ca.server_cert("server");
  CertFiles other = ca.server_cert("other");
  const std::string missing = certs.file("missing.pem");
  struct Case {
    std::vector<std::string> args;
    std::string key;
    std::string file;
  };
  std::vector<Case> cases = {
      {{"--tls.cert_file=" + missing, "--tls.key_file=" + server.key_file},
       "tls.cert_file",
       missing},
      {{"--tls.cert_file=" + server.cert_file, "--tls.key_file=" + other.key_file},
       "tls.key_file",
       other.key_file},
      {{"--tls.cert_file=" + server.cert_file, "--tls.key_file=" + server.cert_file},
       "tls.key_file",
       server.cert_file},
      {{"--tls.cert_file=" + server.cert_file, "--tls.key_file=" + server.key_file,
        "--tls.client_ca_file=" + missing},
       "tls.client_ca_file",
       missing},
      {{"--metrics.listen=127.0.0.1:0", "--metrics.tls_cert_file=" + server.cert_file,
        "--metrics.tls_key_file=" + other.key_file},
       "metrics.tls_key_file",
       other.key_file},
      {{"--tls.cert_file=" + server.cert_file}, "tls.key_file", ""},
  };
  for (const Case& c : cases) {
    auto [status, log] = refused_start(certs, c.args);
    ASSERT_NE(status, -1);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << log;
    EXPECT_NE(log.find(c.key), std::string::npos) << log;
    EXPECT_NE(log.find(c.file), std::string::npos) << log;
    EXPECT_EQ(log.find("event=started"), std::string::npos) << log;
  }
}

// mTLS as identity: with a credentials file, a verified client certificate whose name is listed
// under certificate_names authenticates as that caller, with that caller's grants; a certificate
// from the trusted CA with a name no entry lists is no identity at all.
TEST(GatewayTls, ClientCertificateNamesAuthenticateAsTheirCaller) {
  TempDir certs("jobgw-mtls-id");
  TestCa ca(certs.path(), "main");
  CertFiles server = ca.server_cert("server");
  CertFiles logcheck = ca.client_cert("logcheck", "logcheck", {"logcheck.svc"});
  CertFiles stranger = ca.client_cert("stranger", "stranger", {"stranger.svc"});
  std::vector<std::string> args = tls_args(server);
  args.push_back("--tls.client_ca_file=" + ca.ca_file());
  StackOptions options = three_hosts({}, args);
  options.credentials_json =
      R"({"callers": [{"name": "logcheck", "scopes": ["biz:1"], "operations": ["execute", "read"],)"
      R"( "operator": "svc-logcheck", "certificate_names": ["logcheck.svc"]}]})";
  GatewayStack stack(options);
  stack.use_grpc_credentials(trusting(ca, &logcheck));

  // No token anywhere: the certificate alone is the identity.
  run_script_to_finished(stack.stub(), stack);
  EXPECT_NE(stack.audit_log().find(R"("caller":"logcheck")"), std::string::npos)
      << stack.audit_log();
  EXPECT_NE(stack.audit_log().find(R"("operator":"svc-logcheck")"), std::string::npos)
      << stack.audit_log();

  // Its grants hold: terminate was not granted.
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 10s);
    v1::TerminateJobRequest request;
    request.mutable_scope()->set_type("biz");
    request.mutable_scope()->set_id("1");
    request.set_job_instance_id(1);
    v1::TerminateJobResponse response;
    grpc::Status denied = stack.stub().TerminateJob(&context, request, &response);
    EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED) << denied.error_message();
    EXPECT_NE(denied.error_message().find("logcheck"), std::string::npos) << denied.error_message();
    EXPECT_NE(denied.error_message().find("terminate"), std::string::npos)
        << denied.error_message();
  }

  grpc::Status unknown = probe(stack.grpc_port(), trusting(ca, &stranger));
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED) << unknown.error_message();
  grpc::Status bare = probe(stack.grpc_port(), trusting(ca));
  EXPECT_EQ(bare.error_code(), grpc::StatusCode::UNAUTHENTICATED) << bare.error_message();
}
}  // namespace
}  // namespace jobgw::testing
