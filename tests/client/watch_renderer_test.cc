#include "client/watch_renderer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
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
            "snapshot job=10001 status=running done=0/2\n"
            "host 101 0:192.0.2.1 waiting -> running done=0/2\n"
            "host 101 0:192.0.2.1 running -> success exit=0 done=1/2\n"
            "host 102 0:192.0.2.2 waiting -> nonzero_exit_code exit=3 done=2/2\n"
            "job 10001 running -> failed\n"
            "finished job=10001 status=failed done=2/2 nonzero_exit_code=1 success=1\n");
}

TEST(WatchRenderer, PlainLinesCarrySeqNumbersWhenVerbose) {
  RendererOptions o;
  o.mode = RenderMode::kPlain;
  o.verbose = true;
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
  // Six frames of six lines; every frame after the first starts by moving up six lines.
  std::size_t ups = 0;
  for (auto p = out.find("\x1b[6A"); p != std::string::npos; p = out.find("\x1b[6A", p + 1)) ++ups;
  EXPECT_EQ(ups, 5u);
  auto last = out.substr(out.rfind("\x1b[6A"));
  EXPECT_NE(last.find("job 10001 demo  status: failed\n"), std::string::npos) << last;
  EXPECT_NE(last.find("[###############xxxxxxxxxxxxxxx] 2/2 done\n"), std::string::npos) << last;
  EXPECT_NE(last.find("2 hosts: 1 success, 1 failed | elapsed 3.0s\n"), std::string::npos) << last;
  // The failed host comes first although the job lists it second.
  auto failed = last.find("102     0:192.0.2.2                 nonzero_exit_code   3     2.5s");
  auto success = last.find("101     0:192.0.2.1                 success             0     1.2s");
  ASSERT_NE(failed, std::string::npos) << last;
  ASSERT_NE(success, std::string::npos) << last;
  EXPECT_LT(failed, success) << last;
  EXPECT_EQ(last.find("\x1b[3"), std::string::npos) << "colours were not asked for";
}

TEST(WatchRenderer, TableRateLimitsButAlwaysDrawsTheEnd) {
  RendererOptions o;
  o.mode = RenderMode::kTable;
  auto t = std::chrono::steady_clock::time_point{};
  o.clock = [&t] { return t; };  // every event within 100 ms of the first
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
  EXPECT_FALSE(std::regex_search(frame, std::regex("\x1b\\[[0-9]+A"))) << frame;  // never moves up
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
  ASSERT_EQ(lines.size(), 4u + 50u + 1u);
  // Shown: the 59 running hosts' first 50; hidden: 9 running, 2 waiting, 59 success.
  EXPECT_EQ(lines.back(), "... 70 more hosts (9 running, 2 waiting, 59 success)");
  EXPECT_NE(lines[4].find("0:2001:db8::3 "), std::string::npos) << lines[4];
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

// A table renderer on a clock the test moves, with its output split into frames.
class LiveTable {
 public:
  explicit LiveTable(RendererOptions o = {}) {
    o.mode = RenderMode::kTable;
    o.clock = [this] { return now_; };
    o.clock_text = [](std::int64_t ms) { return "T" + std::to_string(ms); };
    renderer_ = std::make_unique<WatchRenderer>(o, out_, err_);
  }
  void advance(std::chrono::milliseconds d) { now_ += d; }
  void event(const v1::StatusEvent& e) {
    state_.apply(e);
    renderer_->on_event(e, state_);
  }
  void tick() { renderer_->tick(state_); }
  WatchRenderer& renderer() { return *renderer_; }
  // Frames drawn so far, each from its first line to its end.
  std::vector<std::string> frames() const {
    std::vector<std::string> out;
    const std::string all = out_.str();
    for (auto p = all.find("\r\x1b[2Kjob "); p != std::string::npos;) {
      auto next = all.find("\r\x1b[2Kjob ", p + 1);
      out.push_back(all.substr(p, next == std::string::npos ? std::string::npos : next - p));
      p = next;
    }
    return out;
  }
  std::string last_frame() const {
    auto f = frames();
    return f.empty() ? "" : f.back();
  }
  std::string err() const { return err_.str(); }

 private:
  std::chrono::steady_clock::time_point now_{};
  std::ostringstream out_, err_;
  JobState state_;
  std::unique_ptr<WatchRenderer> renderer_;
};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

v1::JobSnapshot job_of(const std::vector<int>& statuses, std::int64_t t0) {
  v1::JobSnapshot s = running_job(t0);
  auto* hosts = s.mutable_steps(0)->mutable_hosts();
  hosts->Clear();
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    auto* h = hosts->Add();
    h->mutable_host()->set_host_id(101 + static_cast<int>(i));
    h->mutable_host()->set_ip("192.0.2." + std::to_string(1 + i));
    h->set_status(static_cast<v1::HostStatus>(statuses[i]));
    if (statuses[i] != v1::HOST_STATUS_WAITING) h->set_start_time_ms(t0);
  }
  return s;
}

TEST(LiveTableTest, TicksMoveElapsedWithoutEvents) {
  LiveTable t;
  t.event(snapshot_event(1, job_of({7, 5}, 1000), 1000));
  EXPECT_TRUE(has(t.last_frame(), "| elapsed -\n")) << t.last_frame();
  t.advance(std::chrono::milliseconds(1200));
  t.tick();
  EXPECT_TRUE(has(t.last_frame(), "2 hosts: 1 running, 1 waiting | elapsed 1.2s\n"))
      << t.last_frame();
  // The running host's own elapsed time moves too (no exit code yet).
  EXPECT_TRUE(has(t.last_frame(), "running" + std::string(19, ' ') + "1.2s\n")) << t.last_frame();
  t.advance(std::chrono::milliseconds(250));
  t.tick();
  EXPECT_TRUE(has(t.last_frame(), "| elapsed 1.4s\n")) << t.last_frame();
  EXPECT_EQ(t.frames().size(), 3u);
}

TEST(LiveTableTest, AHeldRedrawIsDrawnByTheNextTick) {
  LiveTable t;
  t.event(snapshot_event(1, job_of({5, 5}, 1000), 1000));
  t.advance(std::chrono::milliseconds(30));
  t.event(host_event(2, 101, 5, 7, 0, 1030));  // within min_redraw of the first frame: held
  ASSERT_EQ(t.frames().size(), 1u);
  EXPECT_TRUE(has(t.last_frame(), "2 waiting")) << t.last_frame();
  t.advance(std::chrono::milliseconds(220));
  t.tick();  // no further event: the tick draws it
  ASSERT_EQ(t.frames().size(), 2u);
  EXPECT_TRUE(has(t.last_frame(), "2 hosts: 1 running, 1 waiting")) << t.last_frame();
}

TEST(LiveTableTest, TicksStopAfterTheFinalFrame) {
  LiveTable t;
  auto snap = job_of({9, 9}, 1000);
  snap.set_status(v1::JOB_STATUS_SUCCESS);
  snap.set_total_time_ms(500);
  t.event(snapshot_event(1, job_of({7, 7}, 1000), 1000));
  t.advance(std::chrono::seconds(1));
  t.event(finished_event(2, snap, 1500));
  t.advance(std::chrono::seconds(1));
  t.tick();
  ASSERT_EQ(t.frames().size(), 2u);
  EXPECT_TRUE(has(t.last_frame(), "2 hosts: 2 success | elapsed 0.5s")) << t.last_frame();
}

TEST(LiveTableTest, FailedFirstThenRunningWaitingSuccessStableWithinGroups) {
  JobState state;
  // 101 success, 102 failed, 103 waiting, 104 running, 105 script_timeout, 106 running.
  state.replace(job_of({9, 104, 5, 7, 102, 7}, 1000));
  auto lines = table_lines(state, 50, 2000);
  ASSERT_EQ(lines.size(), 4u + 6u);
  std::vector<std::string> order;
  for (std::size_t i = 4; i < lines.size(); ++i) order.push_back(lines[i].substr(0, 3));
  EXPECT_EQ(order, (std::vector<std::string>{"102", "105", "104", "106", "103", "101"}));
}

TEST(LiveTableTest, SummaryCountsOutcomesAndElapsed) {
  HostCounts c;
  for (int s : {9, 9, 9, 9, 9, 9, 9, 104, 7, 7}) c.add(s);
  EXPECT_EQ(summary_text(c, 4200), "10 hosts: 7 success, 1 failed, 2 running | elapsed 4.2s");
  HostCounts one;
  one.add(5);
  EXPECT_EQ(summary_text(one, 0), "1 host: 1 waiting | elapsed -");
  EXPECT_EQ(summary_text(HostCounts{}, 0), "0 hosts | elapsed -");
}

TEST(LiveTableTest, AShortTerminalGetsNMoreInsteadOfACutFrame) {
  std::vector<int> statuses(40, v1::HOST_STATUS_SUCCESS);
  statuses[30] = v1::HOST_STATUS_NONZERO_EXIT_CODE;
  statuses[31] = v1::HOST_STATUS_RUNNING;
  JobState state;
  state.replace(job_of(statuses, 1000));
  TableView view;
  view.terminal = {12, 100};
  auto lines = table_frame(state, view);
  // 11 lines: the cursor keeps the 12th. Header, bar, summary, columns, 6 hosts, "more".
  ASSERT_EQ(lines.size(), 11u);
  EXPECT_EQ(lines[4].substr(0, 3), "131");  // the failed host is never among the hidden
  EXPECT_EQ(lines[5].substr(0, 3), "132");
  EXPECT_EQ(lines.back(), "... 34 more hosts (34 success)");
  // Every host fits in a taller one: no "more" line.
  view.terminal = {45, 100};
  auto all = table_frame(state, view);
  EXPECT_EQ(all.size(), 44u);
  EXPECT_EQ(all.back().find("..."), std::string::npos);
  // max_rows still bounds a frame whose terminal size is unknown.
  view.terminal = {};
  view.max_rows = 10;
  EXPECT_EQ(table_frame(state, view).back(), "... 30 more hosts (30 success)");
}

TEST(LiveTableTest, LinesAreCutToTheTerminalWidth) {
  JobState state;
  state.replace(job_of({9, 104}, 1000));
  TableView view;
  view.terminal = {24, 20};
  view.colour = true;
  for (const auto& line : table_frame(state, view)) {
    std::string plain = std::regex_replace(line, std::regex("\x1b\\[[0-9;]*m"), "");
    EXPECT_LE(display_width(plain), 20u) << line;
  }
}

TEST(LiveTableTest, ProgressBarShowsOutcomesWithDistinctCharacters) {
  HostCounts c;
  for (int s : {9, 9, 9, 104, 7, 7, 5, 5, 5, 5}) c.add(s);
  EXPECT_EQ(outcome_bar(c, 20), "[######xx>>>>........]");
  // One failed host of a thousand still shows.
  HostCounts many;
  for (int i = 0; i < 999; ++i) many.add(v1::HOST_STATUS_SUCCESS);
  many.add(v1::HOST_STATUS_AGENT_ERROR);
  EXPECT_EQ(outcome_bar(many, 10), "[#########x]");
  EXPECT_EQ(outcome_bar(HostCounts{}, 4), "[    ]");
}

TEST(LiveTableTest, ColoursOnlyWhenAsked) {
  JobState state;
  state.replace(job_of({9, 104, 7, 5}, 1000));
  TableView view;
  view.colour = true;
  auto lines = table_frame(state, view);
  const std::string red = "\x1b[31m", green = "\x1b[32m", yellow = "\x1b[33m";
  EXPECT_EQ(lines[4].rfind(red + "102", 0), 0u) << lines[4];  // failed row: red
  EXPECT_TRUE(has(lines[5], yellow + "running")) << lines[5];
  EXPECT_TRUE(has(lines[6], "\x1b[2mwaiting")) << lines[6];
  EXPECT_TRUE(has(lines[7], green + "success")) << lines[7];
  EXPECT_TRUE(has(lines[2], red + "1 failed\x1b[0m")) << lines[2];
  EXPECT_TRUE(has(lines[1], red + "xxxxxxx")) << lines[1];
  view.colour = false;
  for (const auto& line : table_frame(state, view)) EXPECT_FALSE(has(line, "\x1b[")) << line;
}

TEST(LiveTableTest, NoColorAnyValueOrNoTerminalTurnsColoursOff) {
  auto env = [](std::optional<std::string> no_color) {
    return [no_color](const std::string& name) -> std::optional<std::string> {
      return name == "NO_COLOR" ? no_color : std::nullopt;
    };
  };
  EXPECT_TRUE(colours_wanted(true, env(std::nullopt)));
  EXPECT_FALSE(colours_wanted(true, env("")));
  EXPECT_FALSE(colours_wanted(true, env("1")));
  EXPECT_FALSE(colours_wanted(false, env(std::nullopt)));
}

v1::LogEvent file_event(std::int64_t host_id, const std::string& path, v1::FileLogStatus status,
                        const std::string& progress, const std::string& speed) {
  v1::LogEvent e;
  e.set_kind(v1::LOG_EVENT_KIND_FILE);
  e.mutable_host()->set_host_id(host_id);
  e.mutable_host()->set_ip("192.0.2." + std::to_string(host_id - 100));
  auto* f = e.add_file_entries();
  f->set_mode(v1::FILE_LOG_MODE_DOWNLOAD);
  f->mutable_src_host()->set_host_id(109);
  f->set_src_path(path);
  f->set_dest_path("/tmp/in");
  f->set_status(status);
  f->set_progress(progress);
  f->set_speed(speed);
  return e;
}

TEST(LiveTableTest, TransferProgressShowsInEachHostsRow) {
  LiveTable t;
  t.event(snapshot_event(1, job_of({7, 7}, 1000), 1000));
  EXPECT_FALSE(has(t.last_frame(), "PROGRESS")) << "no transfer known yet";
  t.renderer().on_log_event(
      file_event(101, "/data/a.bin", v1::FILE_LOG_STATUS_DOWNLOADING, "45%", "1 KB/s"));
  t.renderer().on_log_event(
      file_event(102, "/data/a.bin", v1::FILE_LOG_STATUS_DOWNLOADING, "10%", "2 MB/s"));
  t.advance(std::chrono::milliseconds(300));
  t.tick();
  EXPECT_TRUE(has(t.last_frame(), "EXIT  ELAPSED  PROGRESS")) << t.last_frame();
  EXPECT_TRUE(has(t.last_frame(), "101     0:192.0.2.1                 running" +
                                      std::string(19, ' ') + "0.3s     45% 1 KB/s\n"))
      << t.last_frame();
  EXPECT_TRUE(has(t.last_frame(), "10% 2 MB/s")) << t.last_frame();
  // A second file of host 101: the count, then the one moving now.
  t.renderer().on_log_event(
      file_event(101, "/data/a.bin", v1::FILE_LOG_STATUS_SUCCESS, "100%", "1 KB/s"));
  t.renderer().on_log_event(
      file_event(101, "/data/b.bin", v1::FILE_LOG_STATUS_DOWNLOADING, "3%", "5 KB/s"));
  t.advance(std::chrono::milliseconds(250));
  t.tick();
  EXPECT_TRUE(has(t.last_frame(), "1/2 files 3% 5 KB/s")) << t.last_frame();
}

TEST(LiveTableTest, TransferProgressStartsOverWhenTheLogStreamDidNotResume) {
  LiveTable t;
  t.event(snapshot_event(1, job_of({7}, 1000), 1000));
  t.renderer().on_log_event(
      file_event(101, "/data/a.bin", v1::FILE_LOG_STATUS_DOWNLOADING, "45%", "1 KB/s"));
  t.renderer().on_log_event(
      file_event(101, "/data/b.bin", v1::FILE_LOG_STATUS_DOWNLOADING, "5%", "1 KB/s"));
  t.renderer().on_log_stream_reconnect();
  t.renderer().on_log_event(
      file_event(101, "/data/a.bin", v1::FILE_LOG_STATUS_DOWNLOADING, "50%", "1 KB/s"));
  t.advance(std::chrono::milliseconds(250));
  t.tick();
  EXPECT_TRUE(has(t.last_frame(), "  50% 1 KB/s")) << t.last_frame();
  EXPECT_FALSE(has(t.last_frame(), "files")) << t.last_frame();
}

v1::StatusEvent reachability_event(v1::EventKind kind, std::int64_t since, std::int64_t back,
                                   const std::string& error) {
  v1::StatusEvent e;
  e.set_seq(4);
  e.set_kind(kind);
  e.set_observed_at_ms(back != 0 ? back : since);
  e.mutable_reachability()->set_unreachable_since_ms(since);
  e.mutable_reachability()->set_reachable_since_ms(back);
  e.mutable_reachability()->set_last_error(error);
  return e;
}

TEST(LiveTableTest, JobUnreachableShowsABannerUntilReachableAgain) {
  LiveTable t;
  t.event(snapshot_event(1, job_of({7}, 1000), 1000));
  t.advance(std::chrono::seconds(1));
  t.event(reachability_event(v1::EVENT_KIND_JOB_UNREACHABLE, 1500, 0, "connection refused"));
  EXPECT_TRUE(has(t.last_frame(),
                  "JOB unreachable since T1500 (connection refused): statuses may be stale\n"))
      << t.last_frame();
  t.advance(std::chrono::seconds(1));
  t.event(reachability_event(v1::EVENT_KIND_JOB_REACHABLE, 1500, 9000, ""));
  EXPECT_FALSE(has(t.last_frame(), "unreachable")) << t.last_frame();
  EXPECT_EQ(t.err(), "");
}

TEST(WatchRenderer, ReachabilityNoticesInPlainAndJsonModes) {
  RendererOptions o;
  o.mode = RenderMode::kPlain;
  o.clock_text = [](std::int64_t ms) { return "T" + std::to_string(ms); };
  std::ostringstream out, err;
  WatchRenderer plain(o, out, err);
  JobState state;
  auto events = std::vector<v1::StatusEvent>{
      snapshot_event(1, running_job(1000), 1000),
      reachability_event(v1::EVENT_KIND_JOB_UNREACHABLE, 1500, 0, "HTTP 503"),
      reachability_event(v1::EVENT_KIND_JOB_REACHABLE, 1500, 9000, "")};
  for (const auto& e : events) {
    state.apply(e);
    plain.on_event(e, state);
  }
  EXPECT_EQ(out.str(),
            "snapshot job=10001 status=running done=0/2\n"
            "JOB unreachable since T1500 (HTTP 503): statuses may be stale\n"
            "JOB reachable again at T9000 (unreachable since T1500)\n");
  o.mode = RenderMode::kJson;
  std::ostringstream jout;
  WatchRenderer json(o, jout, err);
  json.on_event(events[1], state);
  auto j = nlohmann::json::parse(jout.str());
  EXPECT_EQ(j["kind"], "EVENT_KIND_JOB_UNREACHABLE");
  EXPECT_EQ(j["reachability"]["last_error"], "HTTP 503");
  EXPECT_EQ(err.str(), "");
}

TEST(Format, LocalClockText) {
  EXPECT_EQ(local_clock_text(0), "-");
  // Whatever the zone, the text is a time of day with seconds.
  EXPECT_TRUE(
      std::regex_match(local_clock_text(1700000000123), std::regex("\\d\\d:\\d\\d:\\d\\d")));
}

TEST(LiveTableTest, ReconnectingThenReconnectedOnceTheNewStreamDelivers) {
  RendererOptions o;
  o.reconnected_note_for = std::chrono::seconds(3);
  LiveTable t(o);
  t.event(snapshot_event(1, job_of({7}, 1000), 1000));
  t.advance(std::chrono::seconds(1));
  t.renderer().on_reconnect(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down"),
                            std::chrono::milliseconds(200), 1);
  EXPECT_TRUE(has(t.last_frame(), "reconnecting (attempt 1, in 200ms)")) << t.last_frame();
  t.advance(std::chrono::seconds(1));
  t.renderer().on_reconnected(1);
  t.event(snapshot_event(5, job_of({7}, 1000), 3000));
  EXPECT_TRUE(has(t.last_frame(), "reconnected after 1 attempt\n")) << t.last_frame();
  EXPECT_FALSE(has(t.last_frame(), "reconnecting")) << t.last_frame();
  t.advance(std::chrono::seconds(2));
  t.tick();
  EXPECT_TRUE(has(t.last_frame(), "reconnected after 1 attempt\n")) << t.last_frame();
  t.advance(std::chrono::seconds(2));
  t.tick();
  EXPECT_FALSE(has(t.last_frame(), "reconnected")) << t.last_frame();
  EXPECT_EQ(t.err(), "");
}

TEST(WatchRenderer, ReconnectedGoesToStderrInPlainMode) {
  RendererOptions o;
  std::ostringstream out, err;
  WatchRenderer r(o, out, err);
  r.on_reconnected(2);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(), "jobctl: reconnected after 2 attempts\n");
}

TEST(Format, Elapsed) {
  EXPECT_EQ(format_elapsed(0), "-");
  EXPECT_EQ(format_elapsed(1234), "1.2s");
  EXPECT_EQ(format_elapsed(125000), "2m05s");
}

}  // namespace
}  // namespace jobgw::client
