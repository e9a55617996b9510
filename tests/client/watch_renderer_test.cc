#include "client/watch_renderer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/client/events.h"

namespace jobgw::client {
namespace {

using namespace jobgw::client::testing;

std::vector<v1::StatusEvent> sequence() {
  auto snap = running_job(1000);
  auto final_snap = snap;
  final_snap.set_status(v1::JOB_STATUS_FAILED);
  final_snap.set_total_time_ms(3000);
  auto* hosts = final_snap.mutable_steps(0)->mutable_hosts();
  hosts->Mutable(0)->set_status(v1::HOST_STATUS_SUCCESS);
  hosts->Mutable(0)->set_total_time_ms(1200);
  hosts->Mutable(1)->set_status(v1::HOST_STATUS_NONZERO_EXIT_CODE);
  hosts->Mutable(1)->set_exit_code(3);
  hosts->Mutable(1)->set_total_time_ms(2500);
  return {snapshot_event(1, snap, 1000),     host_event(2, 101, 5, 7, 0, 1100),
          host_event(3, 101, 7, 9, 0, 2300), host_event(4, 102, 5, 104, 3, 3600),
          job_event(5, 2, 4, 4000),          finished_event(6, final_snap, 4000)};
}

std::string run(RendererOptions options, std::string* err_out = nullptr) {
  std::ostringstream out, err;
  WatchRenderer r(options, out, err);
  JobState state;
  for (const auto& e : sequence()) {
    state.apply(e);
    r.on_event(e, state);
  }
  r.finish(state);
  if (err_out) *err_out = err.str();
  return out.str();
}

TEST(WatchRenderer, PlainLines) {
  RendererOptions o;
  o.mode = RenderMode::kPlain;
  EXPECT_EQ(run(o),
            "seq=1 snapshot job=10001 status=running done=0/2\n"
            "seq=2 host 101 0:192.0.2.1 waiting -> running done=0/2\n"
            "seq=3 host 101 0:192.0.2.1 running -> success exit=0 done=1/2\n"
            "seq=4 host 102 0:192.0.2.2 waiting -> nonzero_exit_code exit=3 done=2/2\n"
            "seq=5 job 10001 running -> failed\n"
            "seq=6 finished job=10001 status=failed done=2/2 nonzero_exit_code=1 success=1\n");
}

TEST(WatchRenderer, JsonLinesParse) {
  RendererOptions o;
  o.mode = RenderMode::kJson;
  std::istringstream in(run(o));
  std::string line;
  std::vector<nlohmann::json> events;
  while (std::getline(in, line)) events.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0]["kind"], "EVENT_KIND_SNAPSHOT");
  EXPECT_EQ(events[3]["host"]["new_status"], "HOST_STATUS_NONZERO_EXIT_CODE");
  EXPECT_EQ(events[5]["kind"], "EVENT_KIND_FINISHED");
  EXPECT_EQ(events[5]["snapshot"]["status"], "JOB_STATUS_FAILED");
}

TEST(WatchRenderer, TableRedrawsInPlace) {
  RendererOptions o;
  o.mode = RenderMode::kTable;
  auto t = std::chrono::steady_clock::time_point{};
  // Every event 1 s apart: no rate limiting, so each one redraws.
  o.clock = [&t] { return t += std::chrono::seconds(1); };
  std::string out = run(o);
  // Six frames of five lines; every frame after the first starts by moving up five lines.
  std::size_t ups = 0;
  for (auto p = out.find("\x1b[5A"); p != std::string::npos; p = out.find("\x1b[5A", p + 1)) ++ups;
  EXPECT_EQ(ups, 5u);
  auto last = out.substr(out.rfind("\x1b[5A"));
  EXPECT_NE(last.find("job 10001 demo  status: failed  elapsed: 3.0s"), std::string::npos) << last;
  EXPECT_NE(last.find("[##############################] 2/2 done  nonzero_exit_code=1 success=1"),
            std::string::npos)
      << last;
  EXPECT_NE(last.find("101     0:192.0.2.1                 success             0     1.2s"),
            std::string::npos)
      << last;
  EXPECT_NE(last.find("102     0:192.0.2.2                 nonzero_exit_code   3     2.5s"),
            std::string::npos)
      << last;
}

TEST(WatchRenderer, TableRateLimitsButAlwaysDrawsTheEnd) {
  RendererOptions o;
  o.mode = RenderMode::kTable;
  auto t = std::chrono::steady_clock::time_point{};
  o.clock = [&t] { return t += std::chrono::milliseconds(10); };  // all within 100 ms
  std::string out = run(o);
  std::size_t frames = 0;
  for (auto p = out.find("HOST    ADDRESS"); p != std::string::npos;
       p = out.find("HOST    ADDRESS", p + 1)) {
    ++frames;
  }
  EXPECT_EQ(frames, 2u);  // the first event and FINISHED
  EXPECT_NE(out.find("status: failed"), std::string::npos);
}

TEST(WatchRenderer, FinalTableOnlyDrawsOneFrameAndSendsNotesToStderr) {
  RendererOptions o;
  o.mode = RenderMode::kTable;
  o.final_table_only = true;
  auto t = std::chrono::steady_clock::time_point{};
  o.clock = [&t] { return t += std::chrono::seconds(1); };  // no rate limit would hold a frame
  std::ostringstream out, err;
  WatchRenderer r(o, out, err);
  JobState state;
  auto events = sequence();
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    state.apply(events[i]);
    r.on_event(events[i], state);
  }
  r.on_reconnect(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down"),
                 std::chrono::milliseconds(200), 1);
  // Other output shares the terminal: nothing drawn before the end, the note on stderr.
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(
      err.str(),
      "jobctl: reconnecting (attempt 1, in 200ms): stream ended UNAVAILABLE: shutting down\n");
  state.apply(events.back());
  r.on_event(events.back(), state);
  r.finish(state);
  const std::string frame = out.str();
  EXPECT_EQ(frame.find("\x1b[5A"), std::string::npos) << frame;  // never moves up over output
  EXPECT_NE(frame.find("status: failed"), std::string::npos) << frame;
  EXPECT_EQ(frame.find("HOST    ADDRESS"), frame.rfind("HOST    ADDRESS"));
}

TEST(WatchRenderer, FinalTableOnlyStillDrawsTheLastStateOfABrokenWatch) {
  RendererOptions o;
  o.mode = RenderMode::kTable;
  o.final_table_only = true;
  std::ostringstream out, err;
  WatchRenderer r(o, out, err);
  JobState state;
  auto events = sequence();
  state.apply(events[0]);
  r.on_event(events[0], state);
  EXPECT_EQ(out.str(), "");
  r.finish(state);
  EXPECT_NE(out.str().find("status: running"), std::string::npos) << out.str();
}

TEST(WatchRenderer, TableCapsRows) {
  v1::JobSnapshot s = running_job(1000);
  auto* step = s.mutable_steps(0);
  for (int i = 3; i <= 120; ++i) {
    auto* h = step->add_hosts();
    h->mutable_host()->set_host_id(100 + i);
    h->mutable_host()->set_ip("2001:db8::" + std::to_string(i));
    h->set_status(i % 2 ? v1::HOST_STATUS_RUNNING : v1::HOST_STATUS_SUCCESS);
  }
  JobState state;
  state.replace(s);
  auto lines = table_lines(state, 50, 2000);
  ASSERT_EQ(lines.size(), 3u + 50u + 1u);
  EXPECT_EQ(lines.back(), "... 70 more (running=35 success=35)");
  EXPECT_NE(lines[5].find("0:2001:db8::3"), std::string::npos);
}

TEST(WatchRenderer, ReconnectNotesGoToStderrInPlainMode) {
  RendererOptions o;
  std::ostringstream out, err;
  WatchRenderer r(o, out, err);
  r.on_reconnect(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down"),
                 std::chrono::milliseconds(200), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(
      err.str(),
      "jobctl: reconnecting (attempt 1, in 200ms): stream ended UNAVAILABLE: shutting down\n");
}

TEST(Format, Elapsed) {
  EXPECT_EQ(format_elapsed(0), "-");
  EXPECT_EQ(format_elapsed(1234), "1.2s");
  EXPECT_EQ(format_elapsed(125000), "2m05s");
}

}  // namespace
}  // namespace jobgw::client
