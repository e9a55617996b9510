#include "core/job/log_pages.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace jobgw::core {
namespace {

Scope biz1() {
  Scope s;
  s.id = "1";
  return s;
}

std::vector<Host> ids(std::int64_t first, std::size_t n) {
  std::vector<Host> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i].host_id = first + static_cast<std::int64_t>(i);
  return out;
}

// A sizer that is easy to reason about: 10 bytes per entry plus its text.
LogPageSizer simple_sizer(std::size_t fixed = 0) {
  LogPageSizer sizer;
  sizer.script = [](const ScriptLog& log) { return 10 + log.content.size(); };
  sizer.file = [](const FileHostLog& log) {
    std::size_t n = 10;
    for (const auto& e : log.entries) n += 10 + e.content.size();
    return n;
  };
  sizer.fixed = fixed;
  return sizer;
}

// What JOB would answer for `chunk`: one script log per host, `bytes(host_id)` long.
template <typename Bytes>
IpLogs script_answer(const std::vector<Host>& chunk, Bytes bytes) {
  IpLogs logs;
  logs.log_type = kLogScript;
  for (const Host& h : chunk) {
    ScriptLog log;
    log.host = h;
    log.content = std::string(bytes(h.host_id), 'x');
    logs.script_logs.push_back(std::move(log));
  }
  return logs;
}

LogPager start(const std::vector<Host>& hosts, const std::string& token, std::size_t page_hosts,
               std::size_t max_bytes, std::int64_t step = 7) {
  auto pager = LogPager::start(biz1(), 100, step, hosts, token, {page_hosts, max_bytes});
  EXPECT_TRUE(pager.ok()) << (pager.ok() ? "" : pager.error().message);
  return std::move(pager.value());
}

TEST(LogPages, TokenRoundTrips) {
  LogPageToken t{1234, 0xfedcba9876543210ULL, 17};
  const std::string text = encode_log_page_token(t);
  EXPECT_LE(text.size(), kMaxLogPageTokenBytes);
  auto back = decode_log_page_token(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->offset, 1234u);
  EXPECT_EQ(back->fingerprint, 0xfedcba9876543210ULL);
  EXPECT_EQ(back->chunk_hint, 17u);
  const std::string longest = encode_log_page_token({~std::size_t{0}, ~0ULL, ~std::size_t{0}});
  EXPECT_EQ(longest.size(), kMaxLogPageTokenBytes);
}

TEST(LogPages, MalformedTokensNamePageToken) {
  for (const std::string bad :
       {"x", "lp1.", "lp1.1.2", "lp1.1.2.3.4", "lp1.g.0.1", "lp1.1..2", "lp1.1.0.12345678901234567",
        "LP1.1.0.1", "lp1.-1.0.1", "lp1.1.0.1 "}) {
    SCOPED_TRACE(bad);
    auto t = decode_log_page_token(bad);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_EQ(t.error().message.rfind("page_token:", 0), 0u) << t.error().message;
  }
}

TEST(LogPages, FirstPageAsksForPageHosts) {
  auto pager = start(ids(101, 10), "", 4, 1 << 20);
  ASSERT_EQ(pager.chunk().size(), 4u);
  EXPECT_EQ(pager.chunk().front().host_id, 101);
  EXPECT_EQ(pager.chunk().back().host_id, 104);
  LogPage page = pager.fill(script_answer(pager.chunk(), [](auto) { return 5; }), simple_sizer());
  EXPECT_EQ(page.hosts_covered, 4u);
  ASSERT_EQ(page.logs.script_logs.size(), 4u);
  auto next = decode_log_page_token(page.next_page_token);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->offset, 4u);
  EXPECT_EQ(next->chunk_hint, 0u);  // the chunk, not the bytes, ended this page

  auto second = start(ids(101, 10), page.next_page_token, 4, 1 << 20);
  ASSERT_EQ(second.chunk().size(), 4u);
  EXPECT_EQ(second.chunk().front().host_id, 105);
}

TEST(LogPages, LastPageHasNoToken) {
  auto pager = start(ids(101, 3), "", 500, 1 << 20);
  EXPECT_EQ(pager.chunk().size(), 3u);
  LogPage page = pager.fill(script_answer(pager.chunk(), [](auto) { return 5; }), simple_sizer());
  EXPECT_EQ(page.hosts_covered, 3u);
  EXPECT_TRUE(page.next_page_token.empty());
}

TEST(LogPages, BytesEndThePageAndHintTheNextChunk) {
  // 100 bytes per host (10 + 90), 350 bytes of room after 20 fixed: three hosts fit.
  auto pager = start(ids(101, 20), "", 500, 370);
  LogPage page =
      pager.fill(script_answer(pager.chunk(), [](auto) { return 90; }), simple_sizer(20));
  EXPECT_EQ(page.hosts_covered, 3u);
  ASSERT_EQ(page.logs.script_logs.size(), 3u);
  EXPECT_FALSE(page.logs.script_logs[2].truncated);
  auto next = decode_log_page_token(page.next_page_token);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->offset, 3u);
  EXPECT_EQ(next->chunk_hint, 3u);
  // Next time JOB is asked for a little more than the last page held, not for 500 hosts.
  auto second = start(ids(101, 20), page.next_page_token, 500, 370);
  EXPECT_EQ(second.chunk().size(), 4u);
  EXPECT_EQ(second.chunk().front().host_id, 104);
}

TEST(LogPages, TokenOfAnotherRequestIsRefused) {
  auto pager = start(ids(101, 10), "", 4, 1 << 20);
  const std::string token =
      pager.fill(script_answer(pager.chunk(), [](auto) { return 1; }), simple_sizer())
          .next_page_token;
  ASSERT_FALSE(token.empty());
  struct Case {
    const char* what;
    Result<LogPager> result;
  };
  Scope other_scope = biz1();
  other_scope.id = "2";
  const LogPager::Options o{4, 1 << 20};
  Case cases[] = {
      {"step", LogPager::start(biz1(), 100, 8, ids(101, 10), token, o)},
      {"job", LogPager::start(biz1(), 101, 7, ids(101, 10), token, o)},
      {"scope", LogPager::start(other_scope, 100, 7, ids(101, 10), token, o)},
      {"hosts", LogPager::start(biz1(), 100, 7, ids(102, 10), token, o)},
      {"fewer hosts", LogPager::start(biz1(), 100, 7, ids(101, 9), token, o)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    ASSERT_FALSE(c.result.ok());
    EXPECT_EQ(c.result.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_NE(c.result.error().message.find("page_token"), std::string::npos);
  }
  EXPECT_TRUE(LogPager::start(biz1(), 100, 7, ids(101, 10), token, o).ok());
}

TEST(LogPages, TokenPastTheEndIsRefused) {
  const auto hosts = ids(101, 3);
  const std::uint64_t fp = log_pages_fingerprint(biz1(), 100, 7, hosts);
  auto past = LogPager::start(biz1(), 100, 7, hosts, encode_log_page_token({3, fp, 0}), {4, 4096});
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.error().message.find("page_token"), std::string::npos);
  EXPECT_TRUE(
      LogPager::start(biz1(), 100, 7, hosts, encode_log_page_token({2, fp, 0}), {4, 4096}).ok());
}

TEST(LogPages, MixedIdAndIpHostsAreRefused) {
  std::vector<Host> hosts = ids(101, 2);
  Host by_ip;
  by_ip.ip = "10.0.0.1";
  hosts.push_back(by_ip);
  auto pager = LogPager::start(biz1(), 100, 7, hosts, "", {500, 4096});
  ASSERT_FALSE(pager.ok());
  EXPECT_EQ(pager.error().message.rfind("hosts:", 0), 0u) << pager.error().message;
  EXPECT_NE(pager.error().message.find("10.0.0.1"), std::string::npos);
}

TEST(LogPages, OversizedHostAloneIsTruncatedToFit) {
  auto pager = start(ids(101, 3), "", 500, 1000);
  // Host 101 logs 5000 bytes; the page can hold 1000.
  LogPage page = pager.fill(
      script_answer(pager.chunk(), [](std::int64_t id) { return id == 101 ? 5000 : 10; }),
      simple_sizer());
  ASSERT_EQ(page.logs.script_logs.size(), 1u);
  const ScriptLog& log = page.logs.script_logs[0];
  EXPECT_EQ(log.host.host_id, 101);
  EXPECT_TRUE(log.truncated);
  EXPECT_EQ(log.content.size(), 990u);  // exactly what fits: 1000 - 10
  EXPECT_EQ(page.hosts_covered, 1u);
  auto next = decode_log_page_token(page.next_page_token);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->offset, 1u);
}

TEST(LogPages, OversizedHostWaitsForItsOwnPage) {
  auto pager = start(ids(101, 3), "", 500, 1000);
  auto bytes = [](std::int64_t id) { return id == 102 ? 5000 : 10; };
  LogPage first = pager.fill(script_answer(pager.chunk(), bytes), simple_sizer());
  ASSERT_EQ(first.logs.script_logs.size(), 1u);
  EXPECT_FALSE(first.logs.script_logs[0].truncated);

  auto second = start(ids(101, 3), first.next_page_token, 500, 1000);
  ASSERT_EQ(second.chunk().front().host_id, 102);
  LogPage page = second.fill(script_answer(second.chunk(), bytes), simple_sizer());
  ASSERT_EQ(page.logs.script_logs.size(), 1u);
  EXPECT_TRUE(page.logs.script_logs[0].truncated);
  EXPECT_EQ(page.logs.script_logs[0].host.host_id, 102);
  ASSERT_FALSE(page.next_page_token.empty());

  // After the oversized host, the next page goes back to asking for many hosts.
  auto third = start(ids(101, 3), page.next_page_token, 500, 1000);
  LogPage last = third.fill(script_answer(third.chunk(), bytes), simple_sizer());
  ASSERT_EQ(last.logs.script_logs.size(), 1u);
  EXPECT_EQ(last.logs.script_logs[0].host.host_id, 103);
  EXPECT_TRUE(last.next_page_token.empty());
}

TEST(LogPages, TruncationNeverSplitsAUtf8Character) {
  auto pager = start(ids(101, 1), "", 500, 10 + 7);
  IpLogs answer;
  answer.log_type = kLogScript;
  ScriptLog log;
  log.host = pager.chunk()[0];
  log.content = "ab\xe4\xb8\xad\xe6\x96\x87";  // "ab" + two 3-byte characters
  answer.script_logs.push_back(log);
  LogPage page = pager.fill(answer, simple_sizer());
  ASSERT_EQ(page.logs.script_logs.size(), 1u);
  EXPECT_EQ(page.logs.script_logs[0].content, "ab\xe4\xb8\xad");
  EXPECT_TRUE(page.logs.script_logs[0].truncated);
  EXPECT_EQ(utf8_prefix("ab\xe4\xb8\xad", 4), "ab");
  EXPECT_EQ(utf8_prefix("abc", 10), "abc");
}

TEST(LogPages, AnswerIsPutInChunkOrder) {
  std::vector<Host> hosts(4);
  for (int i = 0; i < 4; ++i) hosts[i].ip = "10.0.0." + std::to_string(i + 1);
  auto pager = start(hosts, "", 500, 1 << 20);
  IpLogs answer;
  answer.log_type = kLogScript;
  // JOB answers out of order, adds host ids it was not asked by, skips 10.0.0.2 and names a
  // host that was not asked for at all.
  for (const char* ip : {"10.0.0.4", "10.0.0.9", "10.0.0.1", "10.0.0.3"}) {
    ScriptLog log;
    log.host.ip = ip;
    log.host.host_id = 500;
    log.content = ip;
    answer.script_logs.push_back(log);
  }
  LogPage page = pager.fill(answer, simple_sizer());
  std::vector<std::string> order;
  for (const auto& l : page.logs.script_logs) order.push_back(l.content);
  EXPECT_EQ(order, (std::vector<std::string>{"10.0.0.1", "10.0.0.3", "10.0.0.4", "10.0.0.9"}));
  EXPECT_EQ(page.hosts_covered, 4u);
  EXPECT_TRUE(page.next_page_token.empty());
}

TEST(LogPages, OversizedFileHostDropsTrailingEntries) {
  auto pager = start(ids(101, 2), "", 500, 100);
  IpLogs answer;
  answer.log_type = kLogFile;
  FileHostLog host;
  host.host = pager.chunk()[0];
  for (int i = 0; i < 5; ++i) {
    FileLog e;
    e.content = std::string(30, static_cast<char>('a' + i));
    host.entries.push_back(e);
  }
  answer.file_logs.push_back(host);
  LogPage page = pager.fill(answer, simple_sizer());
  ASSERT_EQ(page.logs.file_logs.size(), 1u);
  const FileHostLog& out = page.logs.file_logs[0];
  EXPECT_TRUE(out.truncated);
  // 10 + 2 * (10 + 30) = 90 fits in 100; a third entry would not.
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(out.entries[1].content, std::string(30, 'b'));
  EXPECT_EQ(page.hosts_covered, 1u);

  auto tiny = start(ids(101, 1), "", 500, 30);
  LogPage cut = tiny.fill(answer, simple_sizer());
  ASSERT_EQ(cut.logs.file_logs.size(), 1u);
  ASSERT_EQ(cut.logs.file_logs[0].entries.size(), 1u);
  EXPECT_EQ(cut.logs.file_logs[0].entries[0].content, std::string(10, 'a'));
  EXPECT_TRUE(cut.logs.file_logs[0].truncated);
}

TEST(LogPages, PagingVisitsEveryHostOnceInOrderWithinTheLimit) {
  const auto hosts = ids(1001, 300);
  std::mt19937 rng(7);
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < hosts.size(); ++i) sizes.push_back(rng() % 3000);
  sizes[17] = 20000;  // one host larger than a page
  auto bytes = [&](std::int64_t id) { return sizes[static_cast<std::size_t>(id - 1001)]; };
  const std::size_t limit = 8192;
  std::vector<std::int64_t> seen;
  std::string token;
  int pages = 0;
  do {
    ASSERT_LT(++pages, 1000);
    auto pager = start(hosts, token, 64, limit);
    ASSERT_FALSE(pager.chunk().empty());
    LogPage page = pager.fill(script_answer(pager.chunk(), bytes), simple_sizer(40));
    std::size_t page_bytes = 40;
    for (const auto& l : page.logs.script_logs) {
      page_bytes += 10 + l.content.size();
      seen.push_back(l.host.host_id);
      EXPECT_EQ(l.truncated, l.host.host_id == 1018);
    }
    EXPECT_LE(page_bytes, limit);
    EXPECT_EQ(page.hosts_covered, page.logs.script_logs.size());
    token = page.next_page_token;
  } while (!token.empty());
  ASSERT_EQ(seen.size(), hosts.size());
  for (std::size_t i = 0; i < hosts.size(); ++i) EXPECT_EQ(seen[i], hosts[i].host_id);
}

}  // namespace
}  // namespace jobgw::core
