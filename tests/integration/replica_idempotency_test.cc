// Replicas on one Redis share request_ids: jobsim counts what reached JOB.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/metrics_text.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

v1::ExecuteScriptRequest keyed(const std::string& request_id, const std::string& script) {
  v1::ExecuteScriptRequest r = script_request(script, {101, 102});
  r.set_request_id(request_id);
  return r;
}

TEST(ReplicaIdempotency, TheSameRequestIdSentToEveryReplicaAtOnceReachesJobOnce) {
  GatewayStack stack(replicas(3));
  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    const auto request =
        keyed("rid-" + std::to_string(round), "echo round " + std::to_string(round));
    std::vector<std::future<Submitted>> calls;
    // Two callers per replica, all released together.
    std::promise<void> go;
    std::shared_future<void> start = go.get_future().share();
    for (int i = 0; i < 2 * stack.replicas(); ++i) {
      JobgwNode& node = stack.node(i % stack.replicas());
      calls.push_back(std::async(std::launch::async, [&node, &request, start] {
        start.wait();
        return execute(node.stub(), request);
      }));
    }
    go.set_value();
    std::set<std::int64_t> jobs;
    for (auto& call : calls) {
      Submitted s = call.get();
      ASSERT_TRUE(s.status.ok()) << s.status.error_message() << stack.logs();
      jobs.insert(s.ref.job_instance_id());
    }
    EXPECT_EQ(jobs.size(), 1u) << "round " << round;
  }
  EXPECT_EQ(submits_reaching_job(stack, "fast_execute_script"), kRounds);

  // Later, on any replica: the same job again, JOB not asked.
  Submitted later = execute(stack.node(2).stub(), keyed("rid-0", "echo round 0"));
  ASSERT_TRUE(later.status.ok());
  EXPECT_EQ(submits_reaching_job(stack, "fast_execute_script"), kRounds);
  double replayed = 0;
  for (int i = 0; i < stack.replicas(); ++i) {
    const std::string m = scrape_metrics(stack.node(i).metrics_port());
    replayed += metric_value(m, "jobgw_idempotent_submits_total{outcome=\"replayed\"}") +
                metric_value(m, "jobgw_idempotent_submits_total{outcome=\"joined\"}");
    EXPECT_EQ(metric_value(m, "jobgw_redis_up"), 1);
  }
  EXPECT_EQ(replayed, 2 * 3 * kRounds - kRounds + 1);
}

TEST(ReplicaIdempotency, AnotherBodyOnAnotherReplicaIsFailedPreconditionNamingIt) {
  GatewayStack stack(replicas(2));
  Submitted first = execute(stack.node(0).stub(), keyed("rid-body", "echo one"));
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  Submitted other = execute(stack.node(1).stub(), keyed("rid-body", "echo two"));
  EXPECT_EQ(other.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(other.status.error_message().find("request_id"), std::string::npos)
      << other.status.error_message();
  EXPECT_EQ(submits_reaching_job(stack, "fast_execute_script"), 1);
}

TEST(ReplicaIdempotency, RedisDownRefusesKeyedSubmitsUnavailableAndEverythingElseWorks) {
  GatewayStack stack(replicas(2));
  stack.redis()->kill();
  JobgwNode& node = stack.node(1);
  ASSERT_TRUE(wait_until(
      [&] { return metric_value(scrape_metrics(node.metrics_port()), "jobgw_redis_up") == 0; },
      10s));
  Submitted keyed_submit = execute(node.stub(), keyed("rid-down", "echo down"));
  EXPECT_EQ(keyed_submit.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(keyed_submit.status.error_message().find("state.redis_url"), std::string::npos)
      << keyed_submit.status.error_message();
  Submitted plain = execute(node.stub(), script_request("echo plain", {101}));
  ASSERT_TRUE(plain.status.ok()) << plain.status.error_message();
  WatchResult watched = watch_to_end(node.stub(), plain.ref.job_instance_id());
  EXPECT_TRUE(watched.status.ok()) << watched.status.error_message();
  EXPECT_EQ(submits_reaching_job(stack, "fast_execute_script"), 1);

  stack.redis()->restart();
  // Each replica reconnects on its own backoff; until then it refuses keyed submits.
  for (int i = 0; i < stack.replicas(); ++i) {
    ASSERT_TRUE(wait_until(
        [&] {
          return metric_value(scrape_metrics(stack.node(i).metrics_port()), "jobgw_redis_up") == 1;
        },
        10s));
  }
  Submitted back = execute(node.stub(), keyed("rid-down", "echo down"));
  EXPECT_TRUE(back.status.ok()) << back.status.error_message();
  Submitted again = execute(stack.node(0).stub(), keyed("rid-down", "echo down"));
  EXPECT_EQ(again.ref.job_instance_id(), back.ref.job_instance_id());
  EXPECT_EQ(submits_reaching_job(stack, "fast_execute_script"), 2);
}

TEST(ReplicaIdempotency, PausedRedisAnswersUnavailableWithinSecondsNotAHang) {
  GatewayStack stack(replicas(2));
  ASSERT_TRUE(execute(stack.node(0).stub(), keyed("rid-warm", "echo warm")).status.ok());
  stack.redis()->pause();
  auto started = std::chrono::steady_clock::now();
  Submitted paused = execute(stack.node(0).stub(), keyed("rid-paused", "echo paused"));
  auto took = std::chrono::steady_clock::now() - started;
  stack.redis()->resume();
  EXPECT_EQ(paused.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << paused.status.error_message();
  EXPECT_LT(took, 10s);
  ASSERT_TRUE(wait_until(
      [&] { return execute(stack.node(1).stub(), keyed("rid-paused", "echo paused")).status.ok(); },
      10s));
  EXPECT_EQ(submits_reaching_job(stack, "fast_execute_script"), 2);
}

TEST(ReplicaIdempotency, AWrongPasswordIsLoggedNamingTheKeyButNeverThePassword) {
  RedisServer::Options options;
  options.password = "right-one";
  RedisServer redis(options);
  StackOptions stack_options = three_hosts(
      {}, {"--state.redis_url=redis://:wrong-one@127.0.0.1:" + std::to_string(redis.port())});
  GatewayStack stack(stack_options);
  ASSERT_TRUE(
      wait_until([&] { return stack.logs().find("event=redis_down") != std::string::npos; }, 10s));
  const std::string logs = stack.logs();
  EXPECT_NE(logs.find("key=state.redis_url"), std::string::npos);
  EXPECT_NE(logs.find("WRONGPASS"), std::string::npos);
  EXPECT_EQ(logs.find("wrong-one"), std::string::npos);
  Submitted refused = execute(stack.stub(), keyed("rid-auth", "echo auth"));
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(ReplicaIdempotency, RedisOverTlsWithAPasswordFileCoordinates) {
  RedisServer::Options tls;
  tls.tls = true;
  tls.password = "tls-secret";
  RedisServer redis(tls);
  TempDir dir("jobgw-redis-pw");
  const std::string password_file = dir.file("redis-password");
  std::ofstream(password_file) << "tls-secret\n";
  GatewayStack stack(
      replicas(2, {},
               {"--state.redis_url=rediss://127.0.0.1:" + std::to_string(redis.port()),
                "--state.redis_password_file=" + password_file,
                "--state.redis_ca_file=" + redis.ca_file()}));
  Submitted a = execute(stack.node(0).stub(), keyed("rid-tls", "echo tls"));
  Submitted b = execute(stack.node(1).stub(), keyed("rid-tls", "echo tls"));
  ASSERT_TRUE(a.status.ok() && b.status.ok()) << a.status.error_message() << stack.logs();
  EXPECT_EQ(a.ref.job_instance_id(), b.ref.job_instance_id());
  EXPECT_EQ(submits_reaching_job(stack, "fast_execute_script"), 1);
  EXPECT_NE(stack.logs().find("redis=\"rediss://:***@127.0.0.1:"), std::string::npos);
  EXPECT_EQ(stack.logs().find("tls-secret"), std::string::npos);
}

TEST(ReplicaIdempotency, AnUntrustedRedisCertificateStopsCoordinationWithAClearLogLine) {
  RedisServer::Options tls;
  tls.tls = true;
  RedisServer redis(tls);
  GatewayStack stack(
      three_hosts({}, {"--state.redis_url=rediss://127.0.0.1:" + std::to_string(redis.port())}));
  ASSERT_TRUE(
      wait_until([&] { return stack.logs().find("event=redis_down") != std::string::npos; }, 10s));
  const std::string logs = stack.logs();
  EXPECT_NE(logs.find("certificate verification"), std::string::npos) << logs;
  EXPECT_NE(logs.find("key=state.redis_url"), std::string::npos);
  Submitted refused = execute(stack.stub(), keyed("rid-untrusted", "echo x"));
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  // Submits without a request_id and their streams do not need Redis.
  Submitted plain = execute(stack.stub(), script_request("echo plain", {101}));
  ASSERT_TRUE(plain.status.ok());
  EXPECT_TRUE(watch_to_end(stack.stub(), plain.ref.job_instance_id()).status.ok());
}

}  // namespace
}  // namespace jobgw::testing
