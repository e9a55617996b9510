#include "core/job/sops_vars.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace jobgw::core {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs vars(std::string_view text) {
  Pairs out;
  for (SopsVar& v : extract_sops_vars(text)) out.emplace_back(v.key, v.value);
  return out;
}

TEST(SopsVars, MarkersAmongOtherOutput) {
  EXPECT_EQ(vars("<SOPS_VAR>key1:value1</SOPS_VAR>\ngsectl\n-rwxr-xr-x 1 root"
                 "<SOPS_VAR>key2:value2</SOPS_VAR>\n"),
            (Pairs{{"key1", "value1"}, {"key2", "value2"}}));
  EXPECT_TRUE(vars("").empty());
  EXPECT_TRUE(vars("no markers at all\n").empty());
}

TEST(SopsVars, SplitAtTheFirstColonKeepingTheRestAsWritten) {
  EXPECT_EQ(vars("<SOPS_VAR>url:http://h:80/a</SOPS_VAR>"), (Pairs{{"url", "http://h:80/a"}}));
  EXPECT_EQ(vars("<SOPS_VAR> k : v </SOPS_VAR>"), (Pairs{{" k ", " v "}}));
  EXPECT_EQ(vars("<SOPS_VAR>empty:</SOPS_VAR>"), (Pairs{{"empty", ""}}));
}

TEST(SopsVars, NoColonOrEmptyKeyIsSkipped) {
  EXPECT_EQ(vars("<SOPS_VAR>novalue</SOPS_VAR><SOPS_VAR>:v</SOPS_VAR><SOPS_VAR>k:v</SOPS_VAR>"),
            (Pairs{{"k", "v"}}));
}

TEST(SopsVars, MarkersSpanLineBreaksAndKeepCrlf) {
  EXPECT_EQ(
      vars("\n<SOPS_VAR>key1:\nvalue1</SOPS_VAR>\nabcd\n<SOPS_VAR>key\n2:value2</SOPS_VAR>\n"),
      (Pairs{{"key1", "\nvalue1"}, {"key\n2", "value2"}}));
  EXPECT_EQ(vars("<SOPS_VAR> key1: value1\r\nkey2:value2 </SOPS_VAR>"),
            (Pairs{{" key1", " value1\r\nkey2:value2 "}}));
  EXPECT_EQ(vars("<SOPS_VAR>k:v\r\n</SOPS_VAR>\r\n"), (Pairs{{"k", "v\r\n"}}));
}

TEST(SopsVars, LaterMarkerWinsAndKeepsTheFirstPosition) {
  EXPECT_EQ(vars("<SOPS_VAR>a:1</SOPS_VAR><SOPS_VAR>b:2</SOPS_VAR><SOPS_VAR>a:3</SOPS_VAR>"),
            (Pairs{{"a", "3"}, {"b", "2"}}));
}

TEST(SopsVars, HtmlEscapedMarkersAreReadAfterThePlainOnes) {
  EXPECT_EQ(vars("&lt;SOPS_VAR&gt;key2:value2&lt;/SOPS_VAR&gt;"), (Pairs{{"key2", "value2"}}));
  // bk-sops collects every plain marker, then every escaped one: the escaped one wins even
  // when it comes first in the log.
  EXPECT_EQ(vars("&lt;SOPS_VAR&gt;k:escaped&lt;/SOPS_VAR&gt;\n<SOPS_VAR>k:plain</SOPS_VAR>"),
            (Pairs{{"k", "escaped"}}));
  // Entities inside the value stay as JOB sent them.
  EXPECT_EQ(vars("&lt;SOPS_VAR&gt;k:a&amp;b&lt;/SOPS_VAR&gt;"), (Pairs{{"k", "a&amp;b"}}));
}

TEST(SopsVars, NestedAndUnterminatedMarkersMatchShortestFirst) {
  // The first opening runs to the first closing after it.
  EXPECT_EQ(vars("<SOPS_VAR>x<SOPS_VAR>k:v</SOPS_VAR>"), (Pairs{{"x<SOPS_VAR>k", "v"}}));
  EXPECT_EQ(vars("<SOPS_VAR>k:v</SOPS_VAR>tail</SOPS_VAR>"), (Pairs{{"k", "v"}}));
  EXPECT_TRUE(vars("<SOPS_VAR>k:v").empty());
  EXPECT_TRUE(vars("<SOPS_VAR>").empty());
  EXPECT_EQ(vars("<SOPS_VAR>a:1</SOPS_VAR><SOPS_VAR>b:2"), (Pairs{{"a", "1"}}));
  // A body has at least one byte, so an empty marker's body runs to the next closing.
  EXPECT_EQ(vars("<SOPS_VAR></SOPS_VAR>k:v</SOPS_VAR>"), (Pairs{{"</SOPS_VAR>k", "v"}}));
  EXPECT_TRUE(vars("<SOPS_VAR></SOPS_VAR>").empty());
  // Case matters, as in bk-sops's pattern.
  EXPECT_TRUE(vars("<sops_var>k:v</sops_var>").empty());
}

TEST(SopsVars, Utf8StaysIntact) {
  EXPECT_EQ(vars("<SOPS_VAR>名称:值：全角冒号不分割</SOPS_VAR>"),
            (Pairs{{"名称", "值：全角冒号不分割"}}));
  EXPECT_EQ(vars("日志<SOPS_VAR>emoji:🚀</SOPS_VAR>结束"), (Pairs{{"emoji", "🚀"}}));
}

}  // namespace
}  // namespace jobgw::core
