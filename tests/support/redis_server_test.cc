#include "tests/support/redis_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace jobgw::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class RedisServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not on PATH";
  }
};

TEST_F(RedisServerTest, PlainServerStoresAndReturnsValues) {
  RedisServer redis;
  EXPECT_TRUE(redis.running());
  EXPECT_GT(redis.pid(), 0);
  EXPECT_EQ(redis.url(), "redis://127.0.0.1:" + std::to_string(redis.port()) + "/0");
  EXPECT_EQ(redis.ca_file(), "");
  EXPECT_EQ(redis.command({"SET", "greeting", "hello world"}), "OK");
  EXPECT_EQ(redis.command({"GET", "greeting"}), "hello world");
  EXPECT_EQ(redis.command({"GET", "missing"}), "");
  EXPECT_EQ(redis.command({"INCR", "counter"}), "1");
  EXPECT_EQ(redis.command({"RPUSH", "list", "a", "b"}), "2");
  EXPECT_EQ(redis.command({"LRANGE", "list", "0", "-1"}), "a\nb");
  EXPECT_THAT(redis.command({"NOSUCHCOMMAND"}), StartsWith("ERR unknown command"));
}

TEST_F(RedisServerTest, PasswordIsRequired) {
  RedisServer::Options options;
  options.password = "s3cret pw";
  RedisServer redis(options);
  EXPECT_THAT(redis.command_without_auth({"GET", "k"}), StartsWith("NOAUTH"));
  EXPECT_EQ(redis.command({"SET", "k", "v"}), "OK");
  EXPECT_EQ(redis.command({"GET", "k"}), "v");
  EXPECT_EQ(redis.url(), "redis://:s3cret%20pw@127.0.0.1:" + std::to_string(redis.port()) + "/0");
}

TEST_F(RedisServerTest, AclUserAuthenticatesAndDefaultUserIsOff) {
  RedisServer::Options options;
  options.acl_user = "app";
  options.acl_password = "app-pw";
  RedisServer redis(options);
  EXPECT_THAT(redis.command_without_auth({"PING"}), StartsWith("NOAUTH"));
  EXPECT_EQ(redis.command({"ACL", "WHOAMI"}), "app");
  EXPECT_EQ(redis.url(), "redis://app:app-pw@127.0.0.1:" + std::to_string(redis.port()) + "/0");
}

TEST_F(RedisServerTest, AppendOnlyDataSurvivesKillAndRestart) {
  RedisServer::Options options;
  options.appendonly = true;
  RedisServer redis(options);
  const int port = redis.port();
  const pid_t first = redis.pid();
  ASSERT_EQ(redis.command({"SET", "kept", "yes"}), "OK");
  redis.kill();
  EXPECT_FALSE(redis.running());
  redis.restart();
  EXPECT_TRUE(redis.running());
  EXPECT_NE(redis.pid(), first);
  EXPECT_EQ(redis.port(), port);
  EXPECT_EQ(redis.command({"GET", "kept"}), "yes");
}

TEST_F(RedisServerTest, WithoutPersistenceKillLosesData) {
  RedisServer redis;
  const int port = redis.port();
  ASSERT_EQ(redis.command({"SET", "lost", "yes"}), "OK");
  redis.kill();
  redis.restart();
  EXPECT_EQ(redis.port(), port);
  EXPECT_EQ(redis.command({"GET", "lost"}), "");
}

TEST_F(RedisServerTest, StopShutsDownCleanly) {
  RedisServer redis;
  redis.stop();
  EXPECT_FALSE(redis.running());
  EXPECT_THAT(redis.log(), HasSubstr("ready to exit"));
  EXPECT_THROW(redis.command({"PING"}), std::runtime_error);
}

TEST_F(RedisServerTest, PausedServerDoesNotAnswerUntilResumed) {
  RedisServer redis;
  redis.pause();
  EXPECT_TRUE(redis.running());
  EXPECT_THROW(redis.command({"PING"}, std::chrono::milliseconds(200)), std::runtime_error);
  redis.resume();
  EXPECT_EQ(redis.command({"PING"}, std::chrono::milliseconds(1000)), "PONG");
}

TEST_F(RedisServerTest, TlsServerAnswersRedisCliWithTheCa) {
  RedisServer::Options options;
  options.tls = true;
  RedisServer redis(options);
  EXPECT_EQ(redis.url(), "rediss://127.0.0.1:" + std::to_string(redis.port()) + "/0");
  ASSERT_NE(redis.ca_file(), "");

  TempDir dir;
  ChildProcess cli("/bin/sh",
                   {"-c", "exec redis-cli --tls --cacert \"$0\" -h 127.0.0.1 -p \"$1\" PING",
                    redis.ca_file(), std::to_string(redis.port())},
                   dir.file("cli.log"));
  EXPECT_EQ(cli.wait_exit(std::chrono::seconds(5)), 0) << cli.log();
  EXPECT_EQ(cli.log(), "PONG\n");

  EXPECT_EQ(redis.command({"SET", "k", "over tls"}), "OK");
  EXPECT_EQ(redis.command({"GET", "k"}), "over tls");
}

TEST_F(RedisServerTest, TlsServerWithPasswordRejectsAnonymousClients) {
  RedisServer::Options options;
  options.tls = true;
  options.password = "pw";
  RedisServer redis(options);
  EXPECT_THAT(redis.command_without_auth({"PING"}), StartsWith("NOAUTH"));
  EXPECT_EQ(redis.command({"PING"}), "PONG");
}

}  // namespace
}  // namespace jobgw::testing
