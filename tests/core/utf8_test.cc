#include "core/logs/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace jobgw::core {
namespace {

TEST(CompleteUtf8Prefix, AsciiAndWholeCharactersAreComplete) {
  EXPECT_EQ(complete_utf8_prefix(""), 0u);
  EXPECT_EQ(complete_utf8_prefix("hello\n"), 6u);
  const std::string mixed = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80z";  // a é 中 😀 z
  EXPECT_EQ(complete_utf8_prefix(mixed), mixed.size());
  EXPECT_EQ(complete_utf8_prefix("\xF0\x9F\x98\x80"), 4u);
}

TEST(CompleteUtf8Prefix, EveryCutInsideACharacterHoldsItsFirstBytesBack) {
  const std::string text = "x\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80";
  // Character starts: x at 0, é at 1, 中 at 3, 😀 at 6, end at 10.
  const std::size_t expected[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10};
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    EXPECT_EQ(complete_utf8_prefix(std::string_view(text).substr(0, cut)), expected[cut])
        << "cut at " << cut;
  }
}

TEST(CompleteUtf8Prefix, InvalidBytesCountAsCompleteSoNothingStalls) {
  // A lone continuation byte, bytes that never start a sequence, an ASCII byte after a lead.
  EXPECT_EQ(complete_utf8_prefix("ab\x80"), 3u);
  EXPECT_EQ(complete_utf8_prefix("ab\xFF"), 3u);
  EXPECT_EQ(complete_utf8_prefix("ab\xC0"), 3u);
  EXPECT_EQ(complete_utf8_prefix("ab\xF5"), 3u);
  EXPECT_EQ(complete_utf8_prefix("ab\xC3z"), 4u);
  // Second bytes that cannot follow their lead (overlong, surrogate, past U+10FFFF).
  EXPECT_EQ(complete_utf8_prefix("\xE0\x80"), 2u);
  EXPECT_EQ(complete_utf8_prefix("\xED\xA0"), 2u);
  EXPECT_EQ(complete_utf8_prefix("\xF0\x80"), 2u);
  EXPECT_EQ(complete_utf8_prefix("\xF4\x90\x80"), 3u);
  // Their valid counterparts are held back.
  EXPECT_EQ(complete_utf8_prefix("\xE0\xA0"), 0u);
  EXPECT_EQ(complete_utf8_prefix("\xED\x9F"), 0u);
  EXPECT_EQ(complete_utf8_prefix("\xF4\x8F\xBF"), 0u);
  // A 2-byte lead followed by two continuations: the extra byte is invalid, not a wait.
  EXPECT_EQ(complete_utf8_prefix("\xC3\xA9\x80"), 3u);
  // Four continuation bytes: no lead within reach, nothing to wait for.
  EXPECT_EQ(complete_utf8_prefix("\x80\x80\x80\x80"), 4u);
}

}  // namespace
}  // namespace jobgw::core
