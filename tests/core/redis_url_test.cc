#include "core/redis/redis_url.h"

#include <gtest/gtest.h>

namespace jobgw::core {
namespace {

TEST(RedisUrlTest, PlainWithDefaults) {
  auto e = parse_redis_url("redis://cache.example");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_FALSE(e->tls);
  EXPECT_EQ(e->host, "cache.example");
  EXPECT_EQ(e->port, 6379);
  EXPECT_EQ(e->db, 0);
  EXPECT_TRUE(e->user.empty());
  EXPECT_TRUE(e->password.empty());
}

TEST(RedisUrlTest, TlsUserPasswordPortAndDb) {
  auto e = parse_redis_url("rediss://jobgw:s%40cr%3At@10.0.0.5:6380/3");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->user, "jobgw");
  EXPECT_EQ(e->password, "s@cr:t");
  EXPECT_EQ(e->host, "10.0.0.5");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->db, 3);
  EXPECT_TRUE(e->host_is_ip_literal());
}

TEST(RedisUrlTest, PasswordOnlyAndIpv6) {
  auto e = parse_redis_url("redis://:pw@[::1]:7000/");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_TRUE(e->user.empty());
  EXPECT_EQ(e->password, "pw");
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 7000);
  EXPECT_EQ(e->redacted(), "redis://:***@[::1]:7000/0");
}

TEST(RedisUrlTest, RedactedNeverShowsThePassword) {
  auto e = parse_redis_url("redis://u:hunter2@h:1/2");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->redacted(), "redis://u:***@h:1/2");
}

TEST(RedisUrlTest, BadUrlsNameTheProblemWithoutThePassword) {
  struct Case {
    const char* url;
    const char* says;
  };
  for (const Case& c : {Case{"http://h:1", "scheme"}, Case{"redis://:hunter2@:1", "host is empty"},
                        Case{"redis://h:0", "port"}, Case{"redis://h:99999", "port"},
                        Case{"redis://h:1/x", "database"}, Case{"redis://h:1/-1", "database"},
                        Case{"redis://:hunter2%zz@h", "percent-escape"},
                        Case{"redis://h:1/0?x=1", "query"}, Case{"redis://[::1:1", "'['"}}) {
    auto e = parse_redis_url(c.url);
    ASSERT_FALSE(e.ok()) << c.url;
    EXPECT_NE(e.error().message.find(c.says), std::string::npos)
        << c.url << ": " << e.error().message;
    EXPECT_EQ(e.error().message.find("hunter2"), std::string::npos) << e.error().message;
  }
}

}  // namespace
}  // namespace jobgw::core
