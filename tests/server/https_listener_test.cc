// HttpListener with a TLS context: HTTPS served, anything else closed, certificate files
// re-read on change (a broken renewal keeps the previous pair), and startup errors name the key.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "server/http_listener.h"
#include "server/http_tls.h"
#include "tests/support/http_client.h"
#include "tests/support/https_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ca.h"

namespace jobgw::server {
namespace {

using testing::CertFiles;
using testing::TempDir;
using testing::TestCa;

TlsFiles files_of(const CertFiles& c) {
  TlsFiles f;
  f.cert_file = c.cert_file;
  f.key_file = c.key_file;
  f.cert_key = "metrics.tls_cert_file";
  f.key_key = "metrics.tls_key_file";
  return f;
}

class HttpsListenerTest : public ::testing::Test {
 protected:
  HttpsListenerTest() : dir_("jobgw-https-unit"), ca_(dir_.path(), "main") {}

  void start(const CertFiles& cert) {
    auto tls = HttpTlsContext::load(files_of(cert));
    ASSERT_TRUE(tls.ok()) << tls.error().message;
    HttpListenerOptions options;
    options.tls = tls.value();
    options.handshake_timeout = std::chrono::milliseconds(500);
    auto created = HttpListener::create(
        io_, "127.0.0.1", 0,
        [](const HttpListenerRequest& req) {
          HttpListenerResponse r;
          r.body = "hello " + req.path;
          return r;
        },
        options);
    ASSERT_TRUE(created.ok()) << created.error().message;
    listener_ = std::move(created.value());
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  ~HttpsListenerTest() override {
    if (listener_) listener_->stop();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  testing::HttpResponse get(const TestCa& trusted) {
    return testing::https_request("GET", listener_->port(), "/x", trusted.ca_file());
  }

  TempDir dir_;
  TestCa ca_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::vector<std::thread> threads_;
  std::unique_ptr<HttpListener> listener_;
};

TEST_F(HttpsListenerTest, ServesHttpsAndClosesEverythingElse) {
  start(ca_.server_cert("server"));
  auto ok = get(ca_);
  ASSERT_EQ(ok.status, 200) << ok.error;
  EXPECT_EQ(ok.body, "hello /x");
  // Plain HTTP is no TLS handshake: the connection closes without an answer.
  auto plain = testing::http_get(listener_->port(), "/x", {}, std::chrono::seconds(10));
  EXPECT_EQ(plain.status, 0);
  TestCa other(dir_.path(), "other");
  auto untrusted = get(other);
  EXPECT_EQ(untrusted.status, 0);
  EXPECT_NE(untrusted.error.find("handshake"), std::string::npos) << untrusted.error;
  EXPECT_EQ(get(ca_).status, 200);
}

TEST_F(HttpsListenerTest, ChangedFilesServeNewConnectionsAndBrokenOnesKeepThePrevious) {
  CertFiles cert = ca_.server_cert("server");
  start(cert);
  ASSERT_EQ(get(ca_).status, 200);
  TestCa next(dir_.path(), "next");
  next.write_server_cert(cert);
  EXPECT_EQ(get(next).status, 200);
  EXPECT_EQ(get(ca_).status, 0);
  // A key that belongs to another certificate: logged, the pair from `next` stays.
  CertFiles stray = ca_.server_cert("stray");
  std::ofstream(cert.key_file, std::ios::trunc) << testing::read_text_file(stray.key_file);
  EXPECT_EQ(get(next).status, 200);
}

TEST_F(HttpsListenerTest, LoadErrorsNameTheKeyAndFile) {
  CertFiles cert = ca_.server_cert("server");
  TlsFiles missing = files_of(cert);
  missing.cert_file = dir_.file("absent.pem");
  auto r = HttpTlsContext::load(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("metrics.tls_cert_file " + missing.cert_file), std::string::npos)
      << r.error().message;
  TlsFiles swapped = files_of(cert);
  swapped.key_file = ca_.server_cert("other").key_file;
  r = HttpTlsContext::load(swapped);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("metrics.tls_key_file " + swapped.key_file), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("does not match"), std::string::npos);
}

}  // namespace
}  // namespace jobgw::server
