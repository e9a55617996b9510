// The per-job callback secret: jobgw gives JOB `callback_url?token=<nonce>.<hmac>`; the callback
// endpoint answers 403 (counted) to anything without a token its key made, real callbacks still
// deliver FINISHED early, and the key (a 0600 file next to state.path) outlives restarts.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <string>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/metrics_text.h"
#include "tests/support/http_client.h"
#include "tests/support/https_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ca.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kCallbackPath[] = "/jobgw/v1/callback";
constexpr char kNonce[] = "00112233445566778899aabbccddeeff";

std::string hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
  return out;
}

std::string unhex(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    out += static_cast<char>(std::stoi(text.substr(i, 2), nullptr, 16));
  }
  return out;
}

// The token format jobgw documents (README "Callback secret"), computed independently here.
std::string token_for(const std::string& key, const std::string& nonce) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(nonce.data()), nonce.size(), mac, &len);
  return nonce + "." + hex(mac, len);
}

std::string key_of(const GatewayStack& stack) {
  std::string text = read_text_file(stack.state_path() + ".callback-key");
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return unhex(text);
}

std::string body_for(std::int64_t job_instance_id) {
  return "{\"job_instance_id\":" + std::to_string(job_instance_id) +
         ",\"status\":3,\"step_instance_list\":[]}";
}

double refused_count(const GatewayStack& stack) {
  return metric_value(scrape_metrics(stack.metrics_port()),
                      "jobgw_callbacks_total{outcome=\"refused\"}");
}

TEST(GatewayCallbackSecret, ForgedCallbacksAreRefusedAndCountedWhileRealOnesDeliver) {
  // Polls 20 s apart: a FINISHED well before that can only have come through the callback.
  StackOptions options = three_hosts(
      {},
      {"--watch.poll_floor_ms=20000", "--watch.poll_ceiling_ms=20000", "--watch.poll_jitter=0"});
  options.callback = true;
  GatewayStack stack(options);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 30s);
  v1::JobRef ref;
  grpc::Status submitted =
      stack.stub().ExecuteScript(&context, script_request("sleep 2; echo done", {101}), &ref);
  ASSERT_TRUE(submitted.ok()) << submitted.error_message() << stack.logs();
  const std::string body = body_for(ref.job_instance_id());

  const std::string other_key(32, 'k');
  const std::string forged[] = {
      kCallbackPath,
      std::string(kCallbackPath) + "?token=not-a-token",
      std::string(kCallbackPath) + "?token=" + token_for(other_key, kNonce),
      // A real mac of another nonce: the mac is bound to its nonce.
      std::string(kCallbackPath) + "?token=" + std::string(32, 'a') + "." +
          token_for(key_of(stack), kNonce).substr(33),
  };
  for (const std::string& target : forged) {
    HttpResponse r = http_post_json(stack.callback_port(), target, body);
    EXPECT_EQ(r.status, 403) << target << " " << r.body;
  }
  EXPECT_EQ(refused_count(stack), 4);

  WatchResult w = watch_to_end(stack.stub(), ref.job_instance_id(), 0, 60s);
  ASSERT_TRUE(w.status.ok()) << w.status.error_message() << stack.logs();
  ASSERT_EQ(w.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(w.events.back().snapshot().status(), v1::JOB_STATUS_SUCCESS);
  // Read on submit and on the real callback; forged callbacks poked nothing.
  EXPECT_LE(stack.status_reads(ref.job_instance_id()), 4) << stack.logs();
  std::string metrics = scrape_metrics(stack.metrics_port());
  EXPECT_GE(metric_value(metrics, "jobgw_callbacks_total{outcome=\"accepted\"}"), 1) << metrics;
  // jobsim counts the delivery once it has read jobgw's 200, which may be after FINISHED.
  EXPECT_TRUE(
      wait_until([&] { return stack.jobsim_stats()["callbacks"].value("delivered", 0) == 1; }, 30s))
      << stack.jobsim_stats().dump();
  // The token never reaches a log line, on either side.
  const std::string key_hex = read_text_file(stack.state_path() + ".callback-key").substr(0, 64);
  std::string logs = stack.logs();
  EXPECT_EQ(logs.find("token="), std::string::npos) << logs;
  EXPECT_EQ(logs.find(key_hex), std::string::npos);
}

TEST(GatewayCallbackSecret, KeyFileIsPrivateAndOutlivesRestarts) {
  StackOptions options = three_hosts();
  options.callback = true;
  GatewayStack stack(options);
  const std::string key_file = stack.state_path() + ".callback-key";
  struct stat st {};
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string key_text = read_text_file(key_file);
  const std::string target =
      std::string(kCallbackPath) + "?token=" + token_for(key_of(stack), kNonce);
  // A valid token for a job jobgw does not watch: past the token check, 404.
  EXPECT_EQ(http_post_json(stack.callback_port(), target, body_for(424242)).status, 404);

  stack.restart_jobgw(SIGKILL);
  EXPECT_EQ(read_text_file(key_file), key_text);
  EXPECT_EQ(http_post_json(stack.callback_port(), target, body_for(424242)).status, 404)
      << stack.logs();
  EXPECT_EQ(http_post_json(stack.callback_port(), kCallbackPath, body_for(424242)).status, 403);
}

TEST(GatewayCallbackSecret, CallbackListenerOverHttps) {
  TempDir certs("jobgw-cb-https");
  TestCa ca(certs.path(), "main");
  CertFiles server = ca.server_cert("callback");
  // The stack's callback and metrics listeners share one address, so both get the pair.
  StackOptions options = three_hosts(
      {},
      {"--callback.tls_cert_file=" + server.cert_file, "--callback.tls_key_file=" + server.key_file,
       "--metrics.tls_cert_file=" + server.cert_file, "--metrics.tls_key_file=" + server.key_file});
  options.callback = true;
  GatewayStack stack(options);
  const int port = stack.callback_port();
  const std::string valid =
      std::string(kCallbackPath) + "?token=" + token_for(key_of(stack), kNonce);
  EXPECT_EQ(https_request("POST", port, valid, ca.ca_file(), body_for(7)).status, 404);
  EXPECT_EQ(https_request("POST", port, kCallbackPath, ca.ca_file(), body_for(7)).status, 403);
  EXPECT_EQ(http_post_json(port, valid, body_for(7)).status, 0);
  HttpResponse metrics = https_request("GET", port, "/metrics", ca.ca_file());
  EXPECT_EQ(metric_value(metrics.body, "jobgw_callbacks_total{outcome=\"refused\"}"), 1)
      << metrics.body;
  EXPECT_NE(stack.jobgw().log().find("callback_url=https://127.0.0.1:"), std::string::npos)
      << stack.logs();
}

}  // namespace
}  // namespace jobgw::testing
