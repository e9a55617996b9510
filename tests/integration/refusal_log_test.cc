// What a client can send at will (forged callbacks, calls without a token, malformed HTTP API
// requests) is counted in full but logged in bounded amounts: the first few lines of each kind
// per interval, then one summary line of the rest, written when the interval ends even though no
// further request arrives (core/base/log_throttle.h).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/metrics_text.h"
#include "tests/integration/test_credentials.h"
#include "tests/support/http_client.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

// The lines per kind and interval jobgw logs before it only counts (LogThrottleConfig).
constexpr int kLinesPerInterval = 5;

struct Tally {
  int lines = 0;                // the per-request lines that were written
  int summaries = 0;            // summary lines of this family
  std::int64_t suppressed = 0;  // what the summaries say they left out
};

// Counts, in jobgw's log, the lines holding `line_marker` and the summaries of `what`.
Tally tally(const std::string& log, const std::string& line_marker, const std::string& what) {
  Tally t;
  std::istringstream in(log);
  std::string line;
  const std::string summary = " more " + what + " in the last ";
  while (std::getline(in, line)) {
    if (line.find(line_marker) != std::string::npos) ++t.lines;
    if (line.find("event=log_suppressed") == std::string::npos ||
        line.find(summary) == std::string::npos) {
      continue;
    }
    ++t.summaries;
    const auto at = line.find("count=");
    if (at != std::string::npos) t.suppressed += std::stoll(line.substr(at + 6));
  }
  return t;
}

// Waits until the log accounts for all `sent` requests: written lines plus what the summaries
// say they left out. Only the summary timer can complete it, since nothing more is sent.
Tally wait_for_accounting(GatewayStack& stack, const std::string& line_marker,
                          const std::string& what, int sent) {
  Tally t;
  wait_until(
      [&] {
        t = tally(stack.node(0).logs(), line_marker, what);
        return t.lines + t.suppressed >= sent;
      },
      40s, 200ms);
  return t;
}

void expect_bounded(const Tally& t, int sent) {
  EXPECT_EQ(t.lines + t.suppressed, sent);
  EXPECT_GE(t.summaries, 1);
  // Each interval writes its few lines; the summaries show how many intervals had more.
  EXPECT_LE(t.lines, kLinesPerInterval * (t.summaries + 1));
  EXPECT_LT(t.lines, sent / 10);
}

TEST(RefusalLog, AThousandForgedCallbacksAreCountedButLoggedInBoundedLines) {
  StackOptions options = three_hosts();
  options.callback = true;
  GatewayStack stack(options);
  constexpr int kForged = 1000;
  const std::string body = "{\"job_instance_id\":10001,\"status\":3,\"step_instance_list\":[]}";
  for (int i = 0; i < kForged; ++i) {
    HttpResponse r = http_post_json(stack.callback_port(),
                                    "/jobgw/v1/callback?token=forged" + std::to_string(i), body);
    ASSERT_EQ(r.status, 403) << i << " " << r.error;
  }
  EXPECT_EQ(metric_value(scrape_metrics(stack.metrics_port()),
                         "jobgw_callbacks_total{outcome=\"refused\"}"),
            kForged);
  Tally t = wait_for_accounting(stack, "event=job_callback outcome=refused", "callback refusals",
                                kForged);
  expect_bounded(t, kForged);
  EXPECT_NE(stack.node(0).logs().find("(refused="), std::string::npos);
}

TEST(RefusalLog, CallsWithoutATokenAreCountedButLoggedInBoundedLines) {
  StackOptions options = three_hosts();
  options.credentials_json = ops_and_reader_credentials();
  GatewayStack stack(options);
  constexpr int kCalls = 300;
  for (int i = 0; i < kCalls; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 10s);
    v1::GetJobStatusRequest request;
    request.mutable_scope()->set_id("1");
    request.set_job_instance_id(10001);
    v1::JobSnapshot snapshot;
    ASSERT_EQ(stack.stub().GetJobStatus(&context, request, &snapshot).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(metric_value(scrape_metrics(stack.metrics_port()),
                         "jobgw_auth_refusals_total{reason=\"missing_token\"}"),
            kCalls);
  Tally t = wait_for_accounting(stack, "code=UNAUTHENTICATED", "refused calls", kCalls);
  expect_bounded(t, kCalls);
  // A call that is not refused for what it sent is still logged in full.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  bearer(context, kReaderToken);
  v1::GetJobStatusRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(999999);
  v1::JobSnapshot snapshot;
  EXPECT_EQ(stack.stub().GetJobStatus(&context, request, &snapshot).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(wait_until(
      [&] { return stack.node(0).logs().find("code=NOT_FOUND") != std::string::npos; }, 10s));
}

TEST(RefusalLog, MalformedHttpApiRequestsAreLoggedInBoundedLines) {
  GatewayStack stack(three_hosts());
  constexpr int kRequests = 300;
  for (int i = 0; i < kRequests; ++i) {
    HttpResponse r = http_post_json(stack.http_port(), "/v1/scripts:execute", "{\"script");
    ASSERT_EQ(r.status, 400) << i << " " << r.error;
  }
  Tally t =
      wait_for_accounting(stack, "event=http_request_refused", "refused HTTP requests", kRequests);
  expect_bounded(t, kRequests);
  EXPECT_NE(stack.node(0).logs().find("(malformed="), std::string::npos);
}

}  // namespace
}  // namespace jobgw::testing
