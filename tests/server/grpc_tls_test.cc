// grpc_server_credentials as the authorizer sees it: a verified client certificate's CN and SANs
// in the call's auth_context, nothing for a caller without one, and unusable files refused.
#include "server/grpc_tls.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "jobgw/v1/job_gateway.grpc.pb.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ca.h"

namespace jobgw::server {
namespace {

using testing::CertFiles;
using testing::read_text_file;
using testing::TempDir;
using testing::TestCa;

struct Peer {
  bool authenticated = false;
  std::vector<std::string> common_names;
  std::vector<std::string> alternative_names;
};

// Answers GetJobStatus after recording what the call's auth_context says about the peer.
class PeerRecorder final : public v1::JobGateway::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetJobStatus(grpc::CallbackServerContext* context,
                                         const v1::GetJobStatusRequest*,
                                         v1::JobSnapshot*) override {
    auto auth = context->auth_context();
    Peer peer;
    peer.authenticated = auth->IsPeerAuthenticated();
    for (const auto& v : auth->FindPropertyValues("x509_common_name")) {
      peer.common_names.emplace_back(v.data(), v.size());
    }
    for (const auto& v : auth->FindPropertyValues("x509_subject_alternative_name")) {
      peer.alternative_names.emplace_back(v.data(), v.size());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_ = peer;
    }
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  Peer last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

 private:
  std::mutex mu_;
  Peer last_;
};

class GrpcTlsTest : public ::testing::Test {
 protected:
  GrpcTlsTest() : dir_("jobgw-grpc-tls"), ca_(dir_.path(), "main") {}
  ~GrpcTlsTest() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  void start(GrpcTlsOptions options) {
    auto credentials = grpc_server_credentials(options);
    ASSERT_TRUE(credentials.ok()) << credentials.error().message;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials.value(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port_, 0);
  }

  grpc::Status call(const CertFiles* client) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ca_.ca_pem();
    if (client != nullptr) {
      ssl.pem_cert_chain = read_text_file(client->cert_file);
      ssl.pem_private_key = read_text_file(client->key_file);
    }
    auto stub = v1::JobGateway::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::SslCredentials(ssl)));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::GetJobStatusRequest request;
    v1::JobSnapshot response;
    return stub->GetJobStatus(&context, request, &response);
  }

  TempDir dir_;
  TestCa ca_;
  PeerRecorder service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(GrpcTlsTest, VerifiedClientCertificateNamesReachTheAuthContext) {
  CertFiles server = ca_.server_cert("server");
  CertFiles client = ca_.client_cert("client", "logcheck", {"logcheck.svc"});
  start({server.cert_file, server.key_file, ca_.ca_file(), false, 60});

  ASSERT_TRUE(call(&client).ok());
  Peer with_cert = service_.last();
  EXPECT_TRUE(with_cert.authenticated);
  EXPECT_EQ(with_cert.common_names, std::vector<std::string>{"logcheck"});
  EXPECT_EQ(with_cert.alternative_names, std::vector<std::string>{"logcheck.svc"});

  ASSERT_TRUE(call(nullptr).ok());
  Peer bare = service_.last();
  EXPECT_FALSE(bare.authenticated);
  EXPECT_TRUE(bare.common_names.empty());
}

TEST_F(GrpcTlsTest, WithoutClientCaNoCertificateIsAskedFor) {
  CertFiles server = ca_.server_cert("server");
  CertFiles client = ca_.client_cert("client", "logcheck");
  start({server.cert_file, server.key_file, "", false, 60});
  ASSERT_TRUE(call(&client).ok());
  EXPECT_TRUE(service_.last().common_names.empty());
}

TEST_F(GrpcTlsTest, UnusableFilesAreRefusedNamingKeyAndFile) {
  CertFiles server = ca_.server_cert("server");
  CertFiles other = ca_.server_cert("other");
  auto missing = grpc_server_credentials({dir_.file("none.pem"), server.key_file, "", false, 60});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("tls.cert_file " + dir_.file("none.pem")),
            std::string::npos)
      << missing.error().message;
  auto mismatched = grpc_server_credentials({server.cert_file, other.key_file, "", false, 60});
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.error().message.find("tls.key_file " + other.key_file), std::string::npos);
  auto bad_ca =
      grpc_server_credentials({server.cert_file, server.key_file, server.key_file, false, 60});
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_NE(bad_ca.error().message.find("tls.client_ca_file"), std::string::npos);
  // No certificate configured: plaintext, not an error.
  EXPECT_TRUE(grpc_server_credentials({}).ok());
}

}  // namespace
}  // namespace jobgw::server
