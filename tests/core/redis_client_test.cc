#include "core/redis/redis_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "tests/core/redis_test_support.h"
#include "tests/support/redis_server.h"
#include "tests/support/wait.h"

namespace jobgw::core {
namespace {

using jobgw::testing::RedisServer;
using jobgw::testing::wait_until;
using std::chrono::milliseconds;

std::unique_ptr<RedisClient> connect(RedisIo& io, RedisClientConfig config) {
  auto client = RedisClient::create(io.io(), std::move(config));
  EXPECT_TRUE(client.ok());
  return std::move(client.value());
}

TEST(RedisClientTest, RoundTripsAndPipelinesFromManyThreads) {
  RedisServer redis;
  RedisIo io;
  auto client = connect(io, RedisIo::config_for(redis.url()));
  auto set = RedisIo::run(*client, {"SET", "k", std::string("v\0w", 3)});
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(*set->text(), "OK");
  EXPECT_EQ(*RedisIo::run(*client, {"GET", "k"})->text(), std::string("v\0w", 3));
  EXPECT_TRUE(RedisIo::run(*client, {"GET", "missing"})->is_nil());

  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        client->command({"INCR", "n"}, [&](Result<RedisReply> r) {
          if (r.ok()) ++answered;
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(wait_until([&] { return answered.load() == 1000; }, milliseconds(5000)));
  EXPECT_EQ(RedisIo::run(*client, {"GET", "n"})->as_integer(), 1000);
}

TEST(RedisClientTest, ErrorReplyIsAnErrorQuotingRedis) {
  RedisServer redis;
  RedisIo io;
  auto client = connect(io, RedisIo::config_for(redis.url()));
  ASSERT_TRUE(RedisIo::run(*client, {"SET", "s", "x"}).ok());
  auto r = RedisIo::run(*client, {"INCR", "s"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInternal);
  EXPECT_NE(r.error().message.find("not an integer"), std::string::npos) << r.error().message;
  // The connection stays usable after an error reply.
  EXPECT_TRUE(RedisIo::run(*client, {"PING"}).ok());
}

TEST(RedisClientTest, FailsFastWhileDownAndReconnectsWhenRedisIsBack) {
  RedisServer redis;
  RedisIo io;
  std::atomic<int> ups{0};
  std::atomic<int> downs{0};
  auto config = RedisIo::config_for(redis.url());
  config.on_state = [&](bool up, const std::string&) { ++(up ? ups : downs); };
  auto client = connect(io, config);
  ASSERT_TRUE(wait_until([&] { return ups.load() == 1; }, milliseconds(5000)));

  redis.kill();
  ASSERT_TRUE(wait_until([&] { return downs.load() == 1; }, milliseconds(5000)));
  auto start = std::chrono::steady_clock::now();
  auto r = RedisIo::run(*client, {"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTransport);
  EXPECT_NE(r.error().message.find("redis at redis://127.0.0.1:"), std::string::npos)
      << r.error().message;
  // Down means an answer at once, not a wait for a connect timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));

  redis.restart();
  ASSERT_TRUE(wait_until([&] { return ups.load() == 2; }, milliseconds(5000)));
  EXPECT_TRUE(RedisIo::run(*client, {"PING"}).ok());
  EXPECT_TRUE(client->up());
}

TEST(RedisClientTest, PausedRedisFailsCommandsAfterTheCommandTimeout) {
  RedisServer redis;
  RedisIo io;
  auto client = connect(io, RedisIo::config_for(redis.url()));
  ASSERT_TRUE(RedisIo::run(*client, {"PING"}).ok());
  redis.pause();
  auto start = std::chrono::steady_clock::now();
  auto r = RedisIo::run(*client, {"PING"});
  auto took = std::chrono::steady_clock::now() - start;
  redis.resume();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTransport);
  EXPECT_NE(r.error().message.find("no answer within 500 ms"), std::string::npos)
      << r.error().message;
  EXPECT_LT(took, milliseconds(3000));
  ASSERT_TRUE(wait_until([&] { return RedisIo::run(*client, {"PING"}).ok(); }, milliseconds(5000)));
}

TEST(RedisClientTest, AuthenticatesWithPasswordOrAclUserAndNeverLogsThePassword) {
  RedisServer::Options options;
  options.password = "pw-right";
  options.acl_user = "app";
  options.acl_password = "app-secret";
  RedisServer redis(options);
  RedisIo io;
  const std::string port = std::to_string(redis.port());

  auto by_password = connect(io, RedisIo::config_for("redis://:pw-right@127.0.0.1:" + port));
  EXPECT_TRUE(RedisIo::run(*by_password, {"PING"}).ok());
  auto by_user = connect(io, RedisIo::config_for("redis://app:app-secret@127.0.0.1:" + port));
  auto who = RedisIo::run(*by_user, {"ACL", "WHOAMI"});
  ASSERT_TRUE(who.ok()) << who.error().message;
  EXPECT_EQ(*who->text(), "app");

  auto wrong = connect(io, RedisIo::config_for("redis://:pw-wrong@127.0.0.1:" + port));
  auto r = RedisIo::run(*wrong, {"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("WRONGPASS"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("pw-wrong"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(":***@"), std::string::npos) << r.error().message;
}

TEST(RedisClientTest, SelectsTheDatabaseOfTheUrl) {
  RedisServer redis;
  RedisIo io;
  auto db3 = connect(io, RedisIo::config_for(redis.url().substr(0, redis.url().rfind('/')) + "/3"));
  ASSERT_TRUE(RedisIo::run(*db3, {"SET", "where", "three"}).ok());
  EXPECT_EQ(redis.command({"GET", "where"}), "");  // the fixture's command() uses db 0
  auto db0 = connect(io, RedisIo::config_for(redis.url()));
  EXPECT_TRUE(RedisIo::run(*db0, {"GET", "where"})->is_nil());
  EXPECT_EQ(*RedisIo::run(*db3, {"GET", "where"})->text(), "three");
}

TEST(RedisClientTest, TlsVerifiesTheServerCertificate) {
  RedisServer::Options options;
  options.tls = true;
  RedisServer redis(options);
  RedisIo io;
  auto config = RedisIo::config_for(redis.url());
  config.ca_file = redis.ca_file();
  auto trusted = connect(io, config);
  auto r = RedisIo::run(*trusted, {"PING"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r->text(), "PONG");

  auto untrusted = connect(io, RedisIo::config_for(redis.url()));
  auto refused = RedisIo::run(*untrusted, {"PING"});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("certificate verification"), std::string::npos)
      << refused.error().message;
}

TEST(RedisClientTest, SubscriberGetsMessagesAndResubscribesAfterARestart) {
  RedisServer redis;
  RedisIo io;
  std::mutex mu;
  std::vector<std::string> got;
  std::atomic<int> ups{0};
  auto sub_config = RedisIo::config_for(redis.url());
  sub_config.on_message = [&](const RedisMessage& m) {
    std::lock_guard<std::mutex> lock(mu);
    got.push_back(m.channel + "=" + m.payload);
  };
  sub_config.on_state = [&](bool up, const std::string&) {
    if (up) ++ups;
  };
  auto subscriber = connect(io, sub_config);
  subscriber->subscribe({"a", "b"});
  auto publisher = connect(io, RedisIo::config_for(redis.url()));
  auto count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return got.size();
  };
  // A subscription is in place once a publish reaches a subscriber.
  ASSERT_TRUE(wait_until(
      [&] {
        return RedisIo::run(*publisher, {"PUBLISH", "a", "1"})->as_integer() == 1;
      },
      milliseconds(5000)));
  RedisIo::run(*publisher, {"PUBLISH", "b", "2"});
  RedisIo::run(*publisher, {"PUBLISH", "c", "3"});
  ASSERT_TRUE(wait_until([&] { return count() >= 2; }, milliseconds(5000)));
  auto r = RedisIo::run(*subscriber, {"GET", "x"});
  EXPECT_FALSE(r.ok());  // a subscriber takes no commands

  subscriber->unsubscribe({"a"});
  redis.kill();
  redis.restart();
  ASSERT_TRUE(wait_until([&] { return ups.load() >= 2; }, milliseconds(5000)));
  ASSERT_TRUE(wait_until(
      [&] {
        return RedisIo::run(*publisher, {"PUBLISH", "b", "4"})->as_integer() == 1;
      },
      milliseconds(5000)));
  EXPECT_EQ(RedisIo::run(*publisher, {"PUBLISH", "a", "5"})->as_integer(), 0);
  ASSERT_TRUE(wait_until([&] { return count() >= 3; }, milliseconds(5000)));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(got[0], "a=1");
  EXPECT_EQ(got[1], "b=2");
  EXPECT_EQ(got.back(), "b=4");
}

}  // namespace
}  // namespace jobgw::core
