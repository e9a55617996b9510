#include "core/logs/step_log.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace jobgw::core {
namespace {

constexpr std::uint64_t kBase = 1000;

Host host(std::int64_t id) {
  Host h;
  h.host_id = id;
  h.ip = "192.0.2." + std::to_string(id % 100);
  return h;
}

std::vector<LogEvent> drain(const StepLog& log, StepLog::Cursor* cursor) {
  std::vector<LogEvent> out;
  while (auto e = log.next(cursor)) out.push_back(std::move(*e));
  return out;
}

// Each host's TEXT concatenated, checking offsets continue where the last event stopped.
std::map<std::int64_t, std::string> texts(const std::vector<LogEvent>& events) {
  std::map<std::int64_t, std::string> out;
  for (const auto& e : events) {
    if (e.kind != LogEvent::Kind::kText) continue;
    std::string& text = out[e.host.host_id];
    EXPECT_EQ(static_cast<std::size_t>(e.offset), text.size()) << "host " << e.host.host_id;
    text += e.text;
  }
  return out;
}

TEST(StepLog, NewBytesOnlyAndUnfinishedCharactersWait) {
  StepLog log(75, /*file_step=*/false, kBase, StepLogLimits{});
  const std::size_t h = log.add_host(host(101));
  const std::string full =
      "ab\xC3\xA9"
      "cd\xE4\xB8\xAD\xF0\x9F\x98\x80!";
  auto cursor = log.cursor({h}, std::nullopt);

  log.add_text(h, full.substr(0, 3), 1);  // "ab" + half of é
  std::vector<LogEvent> first = drain(log, &cursor);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].text, "ab");
  EXPECT_EQ(first[0].offset, 0);
  EXPECT_EQ(first[0].seq, kBase + 1);

  log.add_text(h, full.substr(0, 3), 2);  // nothing new
  EXPECT_TRUE(drain(log, &cursor).empty());

  log.add_text(h, full.substr(0, 10), 3);  // rest of é, "cd", 中, first byte of the emoji
  std::vector<LogEvent> second = drain(log, &cursor);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].text,
            "\xC3\xA9"
            "cd\xE4\xB8\xAD");
  EXPECT_EQ(second[0].offset, 2);

  log.add_text(h, full, 4);
  log.end_host(h, 9, 0, 5);
  std::vector<LogEvent> rest = drain(log, &cursor);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].text, "\xF0\x9F\x98\x80!");
  EXPECT_EQ(rest[1].kind, LogEvent::Kind::kHostEnd);
  EXPECT_EQ(rest[1].status, 9);
  EXPECT_TRUE(log.done(cursor));
  EXPECT_EQ(first[0].text + second[0].text + rest[0].text, full);
}

TEST(StepLog, HostEndFlushesAnUnfinishedTrailingCharacter) {
  StepLog log(75, false, kBase, StepLogLimits{});
  const std::size_t h = log.add_host(host(101));
  log.add_text(h, "ok\xE4\xB8", 1);
  log.end_host(h, 9, 3, 2);
  auto cursor = log.cursor({h}, std::nullopt);
  std::vector<LogEvent> events = drain(log, &cursor);
  ASSERT_EQ(events.size(), 2u);
  // Both marks merge: the host's last bytes are all it will ever write.
  EXPECT_EQ(events[0].text, "ok\xE4\xB8");
  EXPECT_EQ(events[1].kind, LogEvent::Kind::kHostEnd);
  EXPECT_EQ(events[1].exit_code, 3);
  EXPECT_GT(events[1].seq, events[0].seq);
}

TEST(StepLog, SeqsOfAFollowerOnlyGrowAndMergesNeverSkipAnotherHost) {
  StepLog log(75, false, kBase, StepLogLimits{});
  const std::size_t a = log.add_host(host(101));
  const std::size_t b = log.add_host(host(102));
  log.add_text(a, "a1", 1);      // seq +1
  log.add_text(a, "a1a2", 2);    // +2
  log.add_text(b, "b1", 3);      // +3
  log.add_text(a, "a1a2a3", 4);  // +4
  log.add_text(b, "b1b2", 5);    // +5
  log.add_text(b, "b1b2b3", 6);  // +6
  auto cursor = log.cursor({a, b}, std::nullopt);
  std::vector<LogEvent> events = drain(log, &cursor);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].text, "a1a2");  // merged: b's first mark comes after both
  EXPECT_EQ(events[0].seq, kBase + 2);
  EXPECT_EQ(events[1].text, "b1");
  EXPECT_EQ(events[1].seq, kBase + 3);
  EXPECT_EQ(events[2].text, "a3");
  EXPECT_EQ(events[3].text, "b2b3");
  EXPECT_EQ(events[3].seq, kBase + 6);
  for (std::size_t i = 1; i < events.size(); ++i) EXPECT_GT(events[i].seq, events[i - 1].seq);
}

TEST(StepLog, ResumeAfterAnyDeliveredSeqGivesExactlyTheRest) {
  StepLog log(75, false, kBase, StepLogLimits{});
  const std::size_t a = log.add_host(host(101));
  const std::size_t b = log.add_host(host(102));
  std::string la;
  std::string lb;
  for (int i = 0; i < 6; ++i) {
    la += "a" + std::to_string(i) + "\xC3\xA9\n";
    log.add_text(a, la, i);
    if (i % 2 == 0) {
      lb += "b" + std::to_string(i) + "\xE4\xB8\xAD\n";
      log.add_text(b, lb, i);
    }
  }
  log.end_host(a, 9, 0, 10);
  log.end_host(b, 11, 1, 11);
  auto full_cursor = log.cursor({a, b}, std::nullopt);
  const std::vector<LogEvent> all = drain(log, &full_cursor);
  EXPECT_EQ(texts(all)[101], la);
  EXPECT_EQ(texts(all)[102], lb);

  for (std::size_t cut = 0; cut < all.size(); ++cut) {
    auto resumed = log.cursor({a, b}, all[cut].seq);
    EXPECT_TRUE(resumed.resumed);
    std::vector<LogEvent> rest = drain(log, &resumed);
    std::vector<LogEvent> joined(all.begin(), all.begin() + static_cast<long>(cut) + 1);
    for (const auto& e : rest) {
      EXPECT_TRUE(e.resumed);
      EXPECT_GT(e.seq, all[cut].seq);
      joined.push_back(e);
    }
    EXPECT_EQ(texts(joined)[101], la) << "resumed after event " << cut;
    EXPECT_EQ(texts(joined)[102], lb) << "resumed after event " << cut;
    std::size_t ends = 0;
    for (const auto& e : joined) ends += e.kind == LogEvent::Kind::kHostEnd ? 1 : 0;
    EXPECT_EQ(ends, 2u);
    EXPECT_TRUE(log.done(resumed));
  }
}

TEST(StepLog, UnknownAfterSeqStartsFromTheBeginning) {
  StepLog log(75, false, kBase, StepLogLimits{});
  const std::size_t a = log.add_host(host(101));
  log.add_text(a, "one\n", 1);
  log.add_text(a, "one\ntwo\n", 2);
  for (std::uint64_t unknown : {std::uint64_t{0}, kBase, kBase - 5, log.last_seq() + 1}) {
    auto cursor = log.cursor({a}, unknown);
    EXPECT_FALSE(cursor.resumed) << unknown;
    std::vector<LogEvent> events = drain(log, &cursor);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].text, "one\ntwo\n");
    EXPECT_FALSE(events[0].resumed);
  }
  auto at_last = log.cursor({a}, log.last_seq());
  EXPECT_TRUE(at_last.resumed);
  EXPECT_FALSE(log.next(&at_last).has_value());
}

TEST(StepLog, CapGivesOneTruncatedEventThenOnlyTheEnd) {
  StepLogLimits limits;
  limits.max_host_log_bytes = 10;
  StepLog log(75, false, kBase, limits);
  const std::size_t h = log.add_host(host(101));
  log.add_text(h, "12345", 1);
  // 中 would straddle the cap: the capped text stops before it.
  log.add_text(h,
               "12345678\xE4\xB8\xAD"
               "more",
               2);
  EXPECT_TRUE(log.capped(h));
  log.add_text(h,
               "12345678\xE4\xB8\xAD"
               "more and more",
               3);
  log.end_host(h, 9, 0, 4);
  auto cursor = log.cursor({h}, std::nullopt);
  std::vector<LogEvent> events = drain(log, &cursor);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].text, "12345678");
  EXPECT_TRUE(events[0].truncated);
  EXPECT_EQ(events[1].kind, LogEvent::Kind::kHostEnd);
  EXPECT_FALSE(events[1].truncated);
  EXPECT_EQ(log.held_bytes(h), 8u);
}

TEST(StepLog, AtTheCapExactlyNothingIsTruncated) {
  StepLogLimits limits;
  limits.max_host_log_bytes = 4;
  StepLog log(75, false, kBase, limits);
  const std::size_t h = log.add_host(host(101));
  log.add_text(h, "abcd", 1);
  EXPECT_FALSE(log.capped(h));
  log.add_text(h, "abcde", 2);
  EXPECT_TRUE(log.capped(h));
  auto cursor = log.cursor({h}, std::nullopt);
  std::vector<LogEvent> events = drain(log, &cursor);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].text, "abcd");
  EXPECT_TRUE(events[0].truncated);
}

TEST(StepLog, LargeReadsAreCutIntoEventsOfAtMostMaxEventBytes) {
  StepLogLimits limits;
  limits.max_event_bytes = 7;
  StepLog log(75, false, kBase, limits);
  const std::size_t h = log.add_host(host(101));
  std::string text;
  for (int i = 0; i < 10; ++i)
    text +=
        "\xE4\xB8\xAD"
        "ab";  // 5 bytes each
  log.add_text(h, text, 1);
  log.end_host(h, 9, 0, 2);
  auto cursor = log.cursor({h}, std::nullopt);
  std::vector<LogEvent> events = drain(log, &cursor);
  std::string joined;
  for (const auto& e : events) {
    if (e.kind != LogEvent::Kind::kText) continue;
    EXPECT_LE(e.text.size(), 7u);
    EXPECT_FALSE(e.text.empty());
    joined += e.text;
  }
  EXPECT_EQ(joined, text);
  EXPECT_EQ(events.back().kind, LogEvent::Kind::kHostEnd);
}

FileLog entry(std::string dest_path, int status, std::string progress) {
  FileLog f;
  f.mode = 1;
  f.src = host(101);
  f.src_path = "/data/a.tar";
  f.dest = host(102);
  f.dest_path = std::move(dest_path);
  f.status = status;
  f.progress = std::move(progress);
  return f;
}

TEST(StepLog, FileEventsCarryOnlyNewOrChangedEntries) {
  StepLog log(76, /*file_step=*/true, kBase, StepLogLimits{});
  const std::size_t h = log.add_host(host(102));
  auto cursor = log.cursor({h}, std::nullopt);
  log.add_files(h, {entry("/tmp/a", 3, "10%"), entry("/tmp/b", 1, "0%")}, 1);
  std::vector<LogEvent> first = drain(log, &cursor);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].kind, LogEvent::Kind::kFile);
  EXPECT_EQ(first[0].file_entries.size(), 2u);

  log.add_files(h, {entry("/tmp/a", 3, "10%"), entry("/tmp/b", 1, "0%")}, 2);
  EXPECT_TRUE(drain(log, &cursor).empty());

  log.add_files(h, {entry("/tmp/a", 4, "100%"), entry("/tmp/b", 1, "0%")}, 3);
  std::vector<LogEvent> second = drain(log, &cursor);
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(second[0].file_entries.size(), 1u);
  EXPECT_EQ(second[0].file_entries[0].dest_path, "/tmp/a");
  EXPECT_EQ(second[0].file_entries[0].status, 4);
  EXPECT_EQ(second[0].file_entries[0].progress, "100%");

  // Same paths, other source host: another transfer.
  FileLog other = entry("/tmp/b", 1, "0%");
  other.src = host(103);
  log.add_files(h, {entry("/tmp/a", 4, "100%"), entry("/tmp/b", 1, "0%"), other}, 4);
  std::vector<LogEvent> third = drain(log, &cursor);
  ASSERT_EQ(third.size(), 1u);
  ASSERT_EQ(third[0].file_entries.size(), 1u);
  EXPECT_EQ(third[0].file_entries[0].src.host_id, 103);

  log.end_host(h, 9, 0, 5);
  std::vector<LogEvent> end = drain(log, &cursor);
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].kind, LogEvent::Kind::kHostEnd);
}

TEST(StepLog, StepsShareOneCapOnHeldBytesAndGiveItBackWhenDropped) {
  StepLogLimits limits;
  limits.max_held_bytes = 100;
  limits.held = std::make_shared<std::atomic<std::size_t>>(0);
  auto first = std::make_unique<StepLog>(75, false, kBase, limits);
  const std::size_t a = first->add_host(host(101));
  first->add_text(a, std::string(70, 'a'), 1);
  EXPECT_EQ(limits.held->load(), 70u);

  StepLog second(76, false, kBase, limits);
  const std::size_t b = second.add_host(host(102));
  second.add_text(b, std::string(50, 'b'), 1);
  // Only what is left of the shared cap is held; the host is capped like one past its own.
  EXPECT_EQ(second.held_bytes(b), 30u);
  EXPECT_TRUE(second.capped(b));
  auto cursor = second.cursor({b}, std::nullopt);
  auto events = drain(second, &cursor);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].truncated);
  EXPECT_EQ(limits.held->load(), 100u);

  first.reset();
  EXPECT_EQ(limits.held->load(), 30u);
  StepLog third(77, false, kBase, limits);
  const std::size_t c = third.add_host(host(103));
  third.add_text(c, std::string(60, 'c'), 1);
  EXPECT_FALSE(third.capped(c));
  EXPECT_EQ(limits.held->load(), 90u);
}

TEST(StepLog, HostsMatchByIdElseByAddress) {
  StepLog log(75, false, kBase, StepLogLimits{});
  Host by_id;
  by_id.host_id = 101;
  Host by_address;
  by_address.cloud_id = 0;
  by_address.ip = "192.0.2.1";
  const std::size_t a = log.add_host(host(101));
  EXPECT_EQ(log.find_host(by_id), a);
  EXPECT_EQ(log.add_host(by_id), a);
  EXPECT_EQ(log.find_host(by_address), a);
  by_address.cloud_id = 2;
  EXPECT_FALSE(log.find_host(by_address).has_value());
  EXPECT_EQ(log.host_count(), 1u);
}

}  // namespace
}  // namespace jobgw::core
