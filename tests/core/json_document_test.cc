#include "core/job/json_document.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace jobgw::core {
namespace {

bool simdjson_accepts(const std::string& text) {
  JsonDocument doc;
  return doc.parse(text) == simdjson::SUCCESS;
}

// The decoders moved from nlohmann::json to simdjson; the set of texts that parse must not move.
TEST(JsonDocument, AcceptsExactlyWhatNlohmannAccepts) {
  const std::vector<std::string> texts = {
      R"({"a":1})", R"({"a":1,"a":2})", "{} ", " \t\r\n{}\n", "", " ", "{}x", "{}{}", "[1,2",
      R"({"a":true,})", "nul", "null", "\xEF\xBB\xBF{}", "\xEF\xBB{}", "\xEF\xBB\xBF",
      // Numbers: beyond 64 bits, at the edges, malformed, out of double range.
      R"({"a":18446744073709551615})", R"({"a":18446744073709551616})",
      R"({"a":123456789012345678901234567890})", R"({"a":-9223372036854775808})",
      R"({"a":-9223372036854775809})", R"({"a":-123456789012345678901234567890})", R"({"a":1e400})",
      R"({"a":1e308})", R"({"a":-0})", R"({"a":1E2})", R"({"a":01})", R"({"a":00})", R"({"a":1.})",
      R"({"a":.5})", R"({"a":-})", R"({"a":+1})", R"({"a":0x10})", R"({"a":NaN})",
      R"({"a":Infinity})", "{\"a\":1" + std::string(400, '0') + "}",
      "{\"a\":1" + std::string(400, '0') + ".5}",
      // A big integer inside a string, next to an escaped quote, must stay a string.
      R"({"a":"12345678901234567890123\"45678901234567890","b":123456789012345678901234})",
      // Strings: escapes, surrogates, control characters, invalid UTF-8.
      R"({"a":"\u0000"})", R"({"a":"\ud83d\ude00"})", R"({"a":"\udc00"})", R"({"a":"\ud800"})",
      R"({"a":"\ud800x"})", R"({"a":"\x"})", R"({"a":"\/"})", "{\"a\":\"x\ty\"}",
      "{\"a\":\"\x7f\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\xc3\x28\"}", "{\"a\":\"\xed\xa0\x80\"}",
      "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xe2\x82\"}", "{\"a\":\"caf\xc3\xa9\"}",
      "{\"a\":\"x\"}\xff", std::string("{}\0", 3), std::string("{}\0xyz", 6),
      std::string("{\"a\":1\0}", 8), std::string("\0{}", 3), std::string("{\"a\":\"x\0\"}", 10),
      std::string("{\"a\":\"x\"}\0\xff", 11), std::string("[1,2]\0 123456789012345678901234", 31),
      "[123456789012345678901234,01]", "{\"a\":\"unterminated}",
      // Depth beyond simdjson's default limit of 1024.
      std::string(3000, '[') + std::string(3000, ']'),
      "{\"a\":" + std::string(2000, '[') + std::string(2000, ']') + "}", std::string(5000, '['),
      "<html><body>502 Bad Gateway</body></html>"};
  for (const std::string& text : texts) {
    EXPECT_EQ(simdjson_accepts(text), nlohmann::json::accept(text)) << text.substr(0, 120);
  }
}

TEST(JsonDocument, EveryPrefixOfAnAnswerParsesOrFailsCleanly) {
  const std::string text =
      R"({"result":true,"data":{"list":[{"id":1,"s":"x\"y","f":-1.5e3,"n":null,"b":false}]}})";
  for (std::size_t n = 0; n < text.size(); ++n) {
    const std::string prefix = text.substr(0, n);
    EXPECT_EQ(simdjson_accepts(prefix), nlohmann::json::accept(prefix)) << prefix;
  }
  EXPECT_TRUE(simdjson_accepts(text));
}

TEST(JsonDocument, ABigIntegerReadsAsANumberThatIsNotAnInteger) {
  JsonDocument doc;
  ASSERT_EQ(doc.parse(R"({"a":123456789012345678901234567890,"b":7})"), simdjson::SUCCESS);
  simdjson::dom::element a;
  ASSERT_EQ(doc.root()["a"].get(a), simdjson::SUCCESS);
  EXPECT_TRUE(a.is_double());
  std::int64_t b = 0;
  ASSERT_EQ(doc.root()["b"].get(b), simdjson::SUCCESS);
  EXPECT_EQ(b, 7);
}

TEST(JsonDocument, WidenBigIntegersTouchesOnlyIntegersOutside64Bits) {
  EXPECT_EQ(widen_big_integers(R"([18446744073709551615,18446744073709551616])"),
            R"([18446744073709551615,18446744073709551616.0])");
  EXPECT_EQ(widen_big_integers(R"([-9223372036854775808,-9223372036854775809])"),
            R"([-9223372036854775808,-9223372036854775809.0])");
  EXPECT_EQ(widen_big_integers(R"([123456789012345678901.5,123456789012345678901e2])"),
            R"([123456789012345678901.5,123456789012345678901e2])");
  EXPECT_EQ(widen_big_integers(R"({"123456789012345678901\"2":0})"),
            R"({"123456789012345678901\"2":0})");
  EXPECT_EQ(widen_big_integers("[012345678901234567890123]"), "[012345678901234567890123]");
}

// The per-thread parser is reused, but a second document alive on the same thread must not
// invalidate the first one's values.
TEST(JsonDocument, TwoLiveDocumentsOnOneThreadStayValid) {
  JsonDocument first;
  ASSERT_EQ(first.parse(R"({"name":"first"})"), simdjson::SUCCESS);
  {
    JsonDocument second;
    ASSERT_EQ(second.parse(R"({"name":"second"})"), simdjson::SUCCESS);
    std::string_view name;
    ASSERT_EQ(second.root()["name"].get(name), simdjson::SUCCESS);
    EXPECT_EQ(name, "second");
  }
  std::string_view name;
  ASSERT_EQ(first.root()["name"].get(name), simdjson::SUCCESS);
  EXPECT_EQ(name, "first");
  JsonDocument third;
  ASSERT_EQ(third.parse(R"({"name":"third"})"), simdjson::SUCCESS);
  ASSERT_EQ(third.root()["name"].get(name), simdjson::SUCCESS);
  EXPECT_EQ(name, "third");
}

TEST(JsonDocument, BodiesLargerThanTheThreadParserKeepsStillParse) {
  const std::string big = "{\"pad\":\"" + std::string(5 << 20, 'x') + "\",\"n\":42}";
  for (int round = 0; round < 2; ++round) {
    JsonDocument doc;
    ASSERT_EQ(doc.parse(big), simdjson::SUCCESS);
    std::int64_t n = 0;
    ASSERT_EQ(doc.root()["n"].get(n), simdjson::SUCCESS);
    EXPECT_EQ(n, 42);
    JsonDocument small;
    ASSERT_EQ(small.parse(R"({"n":7})"), simdjson::SUCCESS);
    ASSERT_EQ(small.root()["n"].get(n), simdjson::SUCCESS);
    EXPECT_EQ(n, 7);
  }
}

}  // namespace
}  // namespace jobgw::core
