// The order a spent read budget serves waiting reads in: signals first, then by due time, first
// reads a bounded lead ahead, unwatched jobs a bounded lag behind.
#include "core/watch/read_queue.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace jobgw::core {
namespace {

using Clock = Scheduler::Clock;
using std::chrono::milliseconds;

const Clock::time_point kNow = Clock::time_point{} + std::chrono::hours(10);

ReadRank rank(ReadRank::Kind kind, int due_offset_ms, bool watched = true) {
  ReadRank r;
  r.kind = kind;
  r.watched = watched;
  r.due = kNow + milliseconds(due_offset_ms);
  return r;
}

std::vector<std::string> drain(ReadQueue& q, std::vector<std::string>& order) {
  while (!q.empty()) q.pop(kNow).fn();
  return order;
}

TEST(ReadQueueTest, TheMostOverdueReadGoesFirst) {
  ReadQueue q;
  std::vector<std::string> order;
  auto note = [&order](const char* s) { return [&order, s] { order.push_back(s); }; };
  q.push(note("due now"), rank(ReadRank::Kind::kScheduled, 0), kNow);
  q.push(note("overdue 5 s"), rank(ReadRank::Kind::kScheduled, -5000), kNow);
  q.push(note("overdue 1 s"), rank(ReadRank::Kind::kScheduled, -1000), kNow);
  EXPECT_EQ(drain(q, order), (std::vector<std::string>{"overdue 5 s", "overdue 1 s", "due now"}));
}

TEST(ReadQueueTest, SignalsGoFirstAndFirstReadsOvertakeOnlyWithinTheirLead) {
  ReadOrder o;
  o.first_read_lead = milliseconds(2000);
  ReadQueue q(o);
  std::vector<std::string> order;
  auto note = [&order](const char* s) { return [&order, s] { order.push_back(s); }; };
  q.push(note("overdue 3 s"), rank(ReadRank::Kind::kScheduled, -3000), kNow);
  q.push(note("overdue 1 s"), rank(ReadRank::Kind::kScheduled, -1000), kNow);
  q.push(note("first read"), rank(ReadRank::Kind::kFirst, 0), kNow);
  q.push(note("callback"), rank(ReadRank::Kind::kSignal, 0), kNow);
  EXPECT_EQ(drain(q, order),
            (std::vector<std::string>{"callback", "overdue 3 s", "first read", "overdue 1 s"}));
}

TEST(ReadQueueTest, AnUnwatchedJobWaitsItsLagThenTakesItsShareOfTheTokens) {
  ReadOrder o;
  o.unwatched_lag = milliseconds(30000);
  o.unwatched_share = 0.25;
  ReadQueue q(o);
  std::vector<std::string> order;
  auto note = [&order](const char* s) { return [&order, s] { order.push_back(s); }; };
  q.push(note("unwatched, waited 40 s"), rank(ReadRank::Kind::kScheduled, -40000, false), kNow);
  q.push(note("unwatched, waited 20 s"), rank(ReadRank::Kind::kScheduled, -20000, false), kNow);
  q.push(note("unwatched first read"), rank(ReadRank::Kind::kFirst, 0, false), kNow);
  for (const char* w : {"w1", "w2", "w3", "w4", "w5"}) {
    q.push(note(w), rank(ReadRank::Kind::kScheduled, 0), kNow);
  }
  q.push(note("callback of an unwatched job"), rank(ReadRank::Kind::kSignal, 0, false), kNow);
  EXPECT_EQ(drain(q, order),
            (std::vector<std::string>{"callback of an unwatched job", "w1", "w2",
                                      "unwatched, waited 40 s", "w3", "w4", "w5",
                                      "unwatched, waited 20 s", "unwatched first read"}))
      << "one token in four for a starving unwatched read; the rest once no watched one waits";
}

TEST(ReadQueueTest, ARerankedReadMovesAndAServedTicketIsIgnored) {
  ReadQueue q;
  std::vector<std::string> order;
  auto note = [&order](const char* s) { return [&order, s] { order.push_back(s); }; };
  q.push(note("watched"), rank(ReadRank::Kind::kScheduled, 0), kNow);
  const auto ticket = q.push(note("now watched"), rank(ReadRank::Kind::kFirst, 0, false), kNow);
  ReadRank watched = rank(ReadRank::Kind::kFirst, 0);
  watched.due = {};  // keeps the read's own due time
  EXPECT_TRUE(q.rerank(ticket, watched));
  EXPECT_EQ(drain(q, order), (std::vector<std::string>{"now watched", "watched"}));
  EXPECT_FALSE(q.rerank(ticket, watched));
  EXPECT_TRUE(q.empty());
}

TEST(ReadQueueTest, ADefaultDueIsTheTimeOfThePushAndTiesKeepArrivalOrder) {
  ReadQueue q;
  std::vector<std::string> order;
  auto note = [&order](const char* s) { return [&order, s] { order.push_back(s); }; };
  q.push(note("a"), ReadRank{}, kNow);
  q.push(note("b"), ReadRank{}, kNow);
  q.push(note("earlier"), rank(ReadRank::Kind::kScheduled, -1), kNow);
  q.push(note("later push"), ReadRank{}, kNow + milliseconds(1));
  EXPECT_EQ(q.size(), 4u);
  EXPECT_EQ(drain(q, order), (std::vector<std::string>{"earlier", "a", "b", "later push"}));
}

TEST(ReadQueueTest, TakeAllKeepsTheOrderAndTheRanks) {
  ReadQueue q;
  q.push([] {}, rank(ReadRank::Kind::kScheduled, 0), kNow);
  q.push([] {}, rank(ReadRank::Kind::kSignal, 0), kNow);
  auto all = q.take_all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(all[0].rank.kind, ReadRank::Kind::kSignal);
  EXPECT_EQ(all[1].rank.kind, ReadRank::Kind::kScheduled);
}

}  // namespace
}  // namespace jobgw::core
