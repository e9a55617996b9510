#include <gtest/gtest.h>

#include "jobsim/config.h"
#include "jobsim/http_server.h"
#include "jobsim/text_util.h"

namespace jobsim {
namespace {

TEST(TextUtilTest, Base64RoundTripAndStrictness) {
  for (std::string s : std::vector<std::string>{"", "a", "ab", "abc", "abcd",
                                                "echo hello\nexit 3\n", std::string("\0\xff", 2)}) {
    auto d = base64_decode(base64_encode(s));
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(*base64_decode("ZWNobyBoaQ=="), "echo hi");
  EXPECT_EQ(*base64_decode("ZWNobyBoaQ"), "echo hi");
  EXPECT_FALSE(base64_decode("ZWNo!!"));
  EXPECT_FALSE(base64_decode("Z"));
  EXPECT_FALSE(base64_decode("ZW==Nv"));
  EXPECT_FALSE(base64_decode("not base64 at all?"));
}

TEST(TextUtilTest, SplitsParamsLikeAShell) {
  EXPECT_EQ(*split_words("a  b\tc"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(*split_words("'x y' \"p \\\"q\\\"\" z\\ w"),
            (std::vector<std::string>{"x y", "p \"q\"", "z w"}));
  EXPECT_EQ(*split_words("''"), (std::vector<std::string>{""}));
  EXPECT_TRUE(split_words("")->empty());
  EXPECT_FALSE(split_words("'open"));
  EXPECT_FALSE(split_words("\"open"));
}

TEST(TextUtilTest, QueryAndSizes) {
  auto q = parse_query("a=1&b=x%20y+z&c&a=2");
  EXPECT_EQ(q["a"], "2");
  EXPECT_EQ(q["b"], "x y z");
  EXPECT_EQ(q["c"], "");
  EXPECT_EQ(format_size(9), "9.0 Bytes");
  EXPECT_EQ(format_size(1536), "1.5 KB");
  EXPECT_EQ(format_size(3 * 1024 * 1024), "3.0 MB");
  EXPECT_EQ(format_speed(2048), "2 KB/s");
  EXPECT_NE(new_request_id(), new_request_id());
  EXPECT_EQ(new_request_id().size(), 32u);
}

TEST(ConfigTest, ParsesFlagsAndRejectsBadOnes) {
  const char* argv[] = {"jobsim",
                        "--hosts",
                        "7",
                        "--listen=[::1]:0",
                        "--fault",
                        "*:reset",
                        "--fault=*:throttle",
                        "--max-procs",
                        "3",
                        "--executor",
                        "synthetic"};
  Config c = parse_args(11, argv);
  EXPECT_EQ(c.hosts, 7);
  EXPECT_EQ(c.listen, "[::1]:0");
  EXPECT_EQ(c.faults.size(), 2u);
  EXPECT_EQ(c.max_procs, 3u);
  EXPECT_EQ(c.executor, "synthetic");
  const char* bad1[] = {"jobsim", "--hosts"};
  EXPECT_THROW(parse_args(2, bad1), std::invalid_argument);
  const char* bad2[] = {"jobsim", "--frobnicate", "1"};
  EXPECT_THROW(parse_args(3, bad2), std::invalid_argument);
  const char* bad3[] = {"jobsim", "--app-code", "x"};
  EXPECT_THROW(parse_args(3, bad3), std::invalid_argument);
  const char* bad4[] = {"jobsim", "--executor", "magic"};
  EXPECT_THROW(parse_args(3, bad4), std::invalid_argument);
  EXPECT_NE(usage().find("--synthetic-fail-rate"), std::string::npos);

  EXPECT_EQ(parse_listen("127.0.0.1:8090"),
            (std::pair<std::string, unsigned short>{"127.0.0.1", 8090}));
  EXPECT_EQ(parse_listen("[::1]:0"), (std::pair<std::string, unsigned short>{"::1", 0}));
  EXPECT_THROW(parse_listen("8090"), std::invalid_argument);
  EXPECT_THROW(parse_listen("host:99999"), std::invalid_argument);
}

}  // namespace
}  // namespace jobsim
