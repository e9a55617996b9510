#include "core/redis/redis_reply.h"

#include <gtest/gtest.h>

namespace jobgw::core {
namespace {

TEST(RedisReplyTest, FormatsBinarySafeBulkStrings) {
  EXPECT_EQ(format_redis_command({"SET", "k", std::string("a\0b", 3)}),
            std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n", 29));
  EXPECT_EQ(format_redis_command({"GET", ""}), "*2\r\n$3\r\nGET\r\n$0\r\n\r\n");
}

TEST(RedisReplyTest, ReadsEveryTypeAcrossSplitFeeds) {
  RespReader reader;
  const std::string wire =
      "+OK\r\n-ERR boom\r\n:42\r\n$-1\r\n$5\r\nhello\r\n*3\r\n:1\r\n*1\r\n$1\r\nx\r\n$-1\r\n";
  std::vector<RedisReply> got;
  // One byte at a time: a reply split anywhere still comes out whole.
  for (char c : wire) {
    reader.feed(&c, 1);
    for (;;) {
      auto next = reader.next();
      ASSERT_TRUE(next.ok()) << next.error().message;
      if (!next.value()) break;
      got.push_back(*next.value());
    }
  }
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[0].type, RedisReply::Type::kStatus);
  EXPECT_EQ(*got[0].text(), "OK");
  EXPECT_TRUE(got[1].is_error());
  EXPECT_EQ(got[1].str, "ERR boom");
  EXPECT_EQ(*got[2].as_integer(), 42);
  EXPECT_TRUE(got[3].is_nil());
  EXPECT_EQ(*got[4].text(), "hello");
  ASSERT_EQ(got[5].elements.size(), 3u);
  EXPECT_EQ(got[5].elements[1].elements[0].str, "x");
  EXPECT_TRUE(got[5].elements[2].is_nil());
  EXPECT_EQ(got[5].describe(), "[1, [\"x\"], (nil)]");
}

TEST(RedisReplyTest, IntegerFromDecimalStringOnly) {
  RedisReply r;
  r.type = RedisReply::Type::kString;
  r.str = "-17";
  EXPECT_EQ(r.as_integer(), -17);
  r.str = "17x";
  EXPECT_FALSE(r.as_integer().has_value());
  r.type = RedisReply::Type::kNil;
  EXPECT_FALSE(r.as_integer().has_value());
}

TEST(RedisReplyTest, GarbageIsAnErrorNotACrash) {
  RespReader reader;
  reader.feed("?what\r\n", 7);
  auto next = reader.next();
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.error().message.find("malformed"), std::string::npos);
}

}  // namespace
}  // namespace jobgw::core
