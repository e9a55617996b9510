#include "core/replica/watch_event_codec.h"

#include <gtest/gtest.h>

#include "tests/core/watch_test_support.h"

namespace jobgw::core {
namespace {

TEST(WatchEventCodec, SnapshotsAndEventsRoundTrip) {
  JobSnapshot s = testing::job_state(3, {9, 310}, /*finished=*/true);
  s.scope = Scope{"biz_set", "7"};
  s.create_time_ms = 1;
  s.start_time_ms = 2;
  s.end_time_ms = 3;
  s.total_time_ms = 4;
  s.steps[0].hosts[1].tag = "agent \"down\"";
  s.steps[0].hosts[1].exit_code = -1;
  auto decoded = decode_snapshot(encode_snapshot(s));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded.value(), s);
  EXPECT_EQ(decoded->scope.type, "biz_set");

  WatchEvent e;
  e.seq = 1234567890123456;
  e.kind = WatchEventKind::kFinished;
  e.observed_at_ms = 99;
  e.snapshot = std::make_shared<const JobSnapshot>(s);
  auto back = decode_event(encode_event(e));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->seq, e.seq);
  EXPECT_EQ(back->kind, e.kind);
  EXPECT_EQ(*back->snapshot, s);

  WatchEvent h;
  h.kind = WatchEventKind::kHostChanged;
  h.step_instance_id = 75;
  h.old_status = 7;
  h.new_status = 9;
  h.host = s.steps[0].hosts[1];
  auto hb = decode_event(encode_event(h));
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->host, h.host);
  EXPECT_EQ(hb->snapshot, nullptr);

  WatchEvent waiting;
  waiting.kind = WatchEventKind::kStepWaitingUser;
  waiting.step_instance_id = 76;
  waiting.old_status = 1;
  waiting.new_status = 7;
  auto wb = decode_event(encode_event(waiting));
  ASSERT_TRUE(wb.ok()) << wb.error().message;
  EXPECT_EQ(wb->kind, WatchEventKind::kStepWaitingUser);
  EXPECT_EQ(wb->step_instance_id, 76);

  WatchEvent notice;
  notice.kind = WatchEventKind::kJobUnreachable;
  EXPECT_FALSE(decode_event(encode_event(notice)).ok()) << "notices are never stored";
}

TEST(WatchEventCodec, BadInputNamesThePathAndNeverThrows) {
  EXPECT_FALSE(decode_snapshot("not json").ok());
  auto missing = decode_snapshot(R"({"sc":["biz","1"],"j":1,"n":"x","st":2,"f":false,"t":[0,0,0,0],
      "steps":[{"id":1,"ty":1,"n":"s","st":2,"ec":1,"t":[0,0,0,0],"h":[[1,0,"ip",7,"",0,0,0,0]]}]})");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("snapshot.steps[0].h[0][9]"), std::string::npos)
      << missing.error().message;
  auto wrong = decode_event(R"({"q":1,"k":9,"o":0,"os":0,"ns":0,"si":0})");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("event.k"), std::string::npos);
  auto type = decode_event(R"({"k":3,"o":"soon","os":0,"ns":0,"si":0})");
  ASSERT_FALSE(type.ok());
  EXPECT_NE(type.error().message.find("event.o: not an integer"), std::string::npos);
}

}  // namespace
}  // namespace jobgw::core
