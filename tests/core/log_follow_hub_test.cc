#include "core/logs/log_follow_hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/watch/token_bucket.h"
#include "tests/core/watch_test_support.h"

namespace jobgw::core {
namespace {

using std::chrono::milliseconds;
using testing::job_state;
using testing::ScriptedSource;

const Scope kScope{"biz", "1"};
constexpr std::int64_t kJob = 100;
constexpr std::int64_t kStep = 75;
constexpr int kRunning = host_status::kRunning;
constexpr int kWaiting = host_status::kWaiting;
constexpr int kSuccess = host_status::kSuccess;
constexpr int kFailed = 11;

// A LogSource the test scripts: each host's log as JOB would hold it right now; every read is
// recorded with the hosts it asked for.
class FakeLogs : public LogSource {
 public:
  void read_logs(const IpLogsRequest& request, std::function<void(Result<IpLogs>)> done) override {
    std::unique_lock<std::mutex> lock(mu);
    requests.push_back(request);
    if (error) {
      Error e = *error;
      lock.unlock();
      done(e);
      return;
    }
    IpLogs logs;
    logs.job_instance_id = request.job_instance_id;
    logs.step_instance_id = request.step_instance_id;
    for (std::int64_t id : request.host_ids) {
      Host host;
      host.host_id = id;
      host.ip = "192.0.2." + std::to_string(id - 100);
      if (auto it = files.find(id); it != files.end()) {
        logs.log_type = kLogFile;
        logs.file_logs.push_back(FileHostLog{host, it->second, false});
      } else if (auto text = content.find(id); text != content.end()) {
        logs.log_type = kLogScript;
        logs.script_logs.push_back(ScriptLog{host, text->second, false});
      }
    }
    lock.unlock();
    done(std::move(logs));
  }

  std::size_t reads() const {
    std::lock_guard<std::mutex> lock(mu);
    return requests.size();
  }

  // Guards the fields below for tests that change them while reads run on another thread.
  mutable std::mutex mu;
  std::map<std::int64_t, std::string> content;
  std::map<std::int64_t, std::vector<FileLog>> files;
  std::optional<Error> error;
  std::vector<IpLogsRequest> requests;
};

// A follower that always has a request outstanding.
class LogCollector {
 public:
  explicit LogCollector(std::shared_ptr<LogFollower> follower)
      : follower_(std::move(follower)), state_(std::make_shared<State>()) {
    request(follower_, state_);
  }

  std::vector<LogEvent> events() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    std::vector<LogEvent> out;
    for (const auto& item : state_->items) {
      if (item.event) out.push_back(*item.event);
    }
    return out;
  }
  bool ended() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return !state_->items.empty() && state_->items.back().is_end();
  }
  std::optional<Error> end_error() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->items.back().error;
  }
  LogFollower& follower() { return *follower_; }

 private:
  struct State {
    std::mutex mu;
    std::vector<LogItem> items;
  };
  static void request(std::shared_ptr<LogFollower> f, std::shared_ptr<State> state) {
    f->next([f, state](LogItem item) {
      const bool end = item.is_end();
      {
        std::lock_guard<std::mutex> lock(state->mu);
        state->items.push_back(std::move(item));
      }
      if (!end) request(f, state);
    });
  }
  std::shared_ptr<LogFollower> follower_;
  std::shared_ptr<State> state_;
};

// Each host's TEXT joined; offsets must continue exactly where the host's last text stopped.
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

// Whether `text` is a sequence of whole UTF-8 characters (the test's logs have no invalid bytes).
bool whole_characters(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 1;
    if (lead >= 0xF0) {
      length = 4;
    } else if (lead >= 0xE0) {
      length = 3;
    } else if (lead >= 0xC0) {
      length = 2;
    } else if (lead >= 0x80) {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

WatchHubConfig status_config() {
  WatchHubConfig c;
  // Constant 200 ms status polls: host changes are seen within a log interval.
  c.poll_floor = milliseconds(200);
  c.poll_ceiling = milliseconds(200);
  c.poll_jitter = 0;
  c.reads_per_second = 0;
  return c;
}

LogFollowConfig follow_config() {
  LogFollowConfig c;
  c.interval = milliseconds(1000);
  c.retention = std::chrono::seconds(60);
  c.error_backoff = BackoffPolicy{milliseconds(500), milliseconds(4000), 2.0, 0.0};
  c.give_up_after = std::chrono::seconds(30);
  return c;
}

double half() { return 0.5; }

struct Fixture {
  explicit Fixture(LogFollowConfig config = follow_config())
      : source(scheduler),
        budget(TokenBucket::create(scheduler, 1000, 1000)),
        status(scheduler, source, status_config(), nullptr, half, budget.get()),
        hub(scheduler, logs, status, *budget, config, half) {}

  std::shared_ptr<LogFollower> follow(std::vector<std::int64_t> host_ids = {},
                                      std::optional<std::uint64_t> after_seq = std::nullopt,
                                      std::int64_t step = kStep) {
    std::vector<Host> hosts;
    for (std::int64_t id : host_ids) {
      Host h;
      h.host_id = id;
      hosts.push_back(h);
    }
    return hub.follow(kScope, kJob, step, std::move(hosts), after_seq);
  }
  void run(milliseconds by) { scheduler.advance(by); }

  ManualScheduler scheduler;
  ScriptedSource source;
  std::shared_ptr<TokenBucket> budget;
  WatchHub status;
  FakeLogs logs;
  LogFollowHub hub;
};

// "é", "中" and an emoji, so that byte cuts fall inside characters.
std::string line(int i) {
  return "line " + std::to_string(i) + " caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80\n";
}

TEST(LogFollowHub, TextReassemblesByteExactlyAcrossReadsThatCutCharacters) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning, kRunning}));
  LogCollector c(f.follow());
  f.scheduler.run_due();

  std::string full_a;
  std::string full_b;
  for (int i = 0; i < 8; ++i) full_a += line(i);
  for (int i = 0; i < 5; ++i) full_b += line(100 + i);
  // JOB's log grows in bursts whose ends fall anywhere, also inside multi-byte characters.
  const std::size_t cuts_a[] = {7, 13, 21, 22, 40, 41, 42, 43, 90, 150, full_a.size()};
  const std::size_t cuts_b[] = {2,
                                12,
                                14,
                                60,
                                61,
                                100,
                                full_b.size(),
                                full_b.size(),
                                full_b.size(),
                                full_b.size(),
                                full_b.size()};
  for (std::size_t i = 0; i < std::size(cuts_a); ++i) {
    f.logs.content[101] = full_a.substr(0, cuts_a[i]);
    f.logs.content[102] = full_b.substr(0, cuts_b[i]);
    f.run(milliseconds(1000));
  }
  EXPECT_FALSE(c.ended());
  f.source.set(kJob, job_state(3, {kSuccess, kFailed}, /*finished=*/true));
  f.run(milliseconds(3000));

  ASSERT_TRUE(c.ended());
  EXPECT_FALSE(c.end_error().has_value());
  std::vector<LogEvent> events = c.events();
  std::map<std::int64_t, std::string> joined = texts(events);
  EXPECT_EQ(joined[101], full_a);
  EXPECT_EQ(joined[102], full_b);
  std::set<std::int64_t> ended;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const LogEvent& e = events[i];
    if (i > 0) {
      EXPECT_GT(e.seq, events[i - 1].seq);
    }
    EXPECT_EQ(e.step_instance_id, kStep);
    EXPECT_FALSE(e.resumed);
    EXPECT_EQ(ended.count(e.host.host_id), 0u) << "event after HOST_END of " << e.host.host_id;
    if (e.kind == LogEvent::Kind::kHostEnd) {
      ended.insert(e.host.host_id);
      EXPECT_EQ(e.status, e.host.host_id == 101 ? kSuccess : kFailed);
    }
    // The logs are valid UTF-8, so every text is whole characters.
    if (e.kind == LogEvent::Kind::kText) {
      EXPECT_TRUE(whole_characters(e.text)) << "seq " << e.seq;
    }
  }
  EXPECT_EQ(ended, (std::set<std::int64_t>{101, 102}));
}

TEST(LogFollowHub, FiftyFollowersOfAStepCostOneReadPerInterval) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning, kRunning, kRunning}));
  std::vector<std::unique_ptr<LogCollector>> followers;
  for (int i = 0; i < 50; ++i) {
    std::vector<std::int64_t> hosts;
    if (i % 3 == 1) hosts = {101};
    if (i % 3 == 2) hosts = {102, 103};
    followers.push_back(std::make_unique<LogCollector>(f.follow(hosts)));
  }
  f.scheduler.run_due();
  EXPECT_EQ(f.logs.reads(), 1u);
  EXPECT_EQ(f.hub.stats().followers, 50u);
  EXPECT_EQ(f.hub.stats().steps, 1u);
  EXPECT_EQ(f.hub.followers_of(kScope, kJob), 50u);

  constexpr int kIntervals = 12;
  std::string full;
  for (int i = 1; i <= kIntervals; ++i) {
    full += line(i);
    f.logs.content[101] = full;
    f.logs.content[102] = full;
    f.logs.content[103] = full;
    f.run(milliseconds(1000));
    EXPECT_EQ(f.logs.reads(), 1u + static_cast<std::size_t>(i));
  }
  // One batch read asks for the union of the hosts any follower follows.
  for (const auto& request : f.logs.requests) {
    EXPECT_EQ(std::set<std::int64_t>(request.host_ids.begin(), request.host_ids.end()),
              (std::set<std::int64_t>{101, 102, 103}));
    EXPECT_EQ(request.step_instance_id, kStep);
  }
  for (int i = 0; i < 50; ++i) {
    std::map<std::int64_t, std::string> joined = texts(followers[i]->events());
    if (i % 3 != 2) {
      EXPECT_EQ(joined[101], full) << "follower " << i;
    }
    if (i % 3 != 1) {
      EXPECT_EQ(joined[103], full) << "follower " << i;
    }
    if (i % 3 == 1) {
      EXPECT_EQ(joined.count(103), 0u);
    }
  }
}

TEST(LogFollowHub, OnlyRunningOrFinalHostsAreRead) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning, kWaiting}));
  f.logs.content[101] = "one\n";
  LogCollector c(f.follow());
  f.scheduler.run_due();
  ASSERT_EQ(f.logs.reads(), 1u);
  EXPECT_EQ(f.logs.requests[0].host_ids, (std::vector<std::int64_t>{101}));

  // Nothing runs: no reads, however long.
  f.source.set(kJob, job_state(2, {kSuccess, kWaiting}));
  f.run(milliseconds(1000));
  const std::size_t after_end = f.logs.reads();
  f.run(milliseconds(10000));
  EXPECT_EQ(f.logs.reads(), after_end);

  f.source.set(kJob, job_state(2, {kSuccess, kRunning}));
  f.logs.content[102] = "two\n";
  f.run(milliseconds(1000));
  EXPECT_GT(f.logs.reads(), after_end);
  EXPECT_EQ(f.logs.requests.back().host_ids, (std::vector<std::int64_t>{102}));
  EXPECT_EQ(texts(c.events())[102], "two\n");
}

TEST(LogFollowHub, LateFollowerFirstGetsWhatWasWrittenFromHeldContent) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning, kRunning}));
  LogCollector early(f.follow());
  f.scheduler.run_due();
  std::string a;
  std::string b;
  for (int i = 0; i < 4; ++i) {
    a += line(i);
    b += line(i * 7);
    f.logs.content[101] = a;
    f.logs.content[102] = b;
    f.run(milliseconds(1000));
  }
  const std::size_t reads = f.logs.reads();
  LogCollector late(f.follow());
  // Caught up at once, from what the hub holds: no read of its own.
  EXPECT_EQ(f.logs.reads(), reads);
  std::map<std::int64_t, std::string> caught = texts(late.events());
  EXPECT_EQ(caught[101], a);
  EXPECT_EQ(caught[102], b);

  a += line(99);
  f.logs.content[101] = a;
  f.source.set(kJob, job_state(3, {kSuccess, kSuccess}, true));
  f.run(milliseconds(3000));
  ASSERT_TRUE(late.ended());
  EXPECT_FALSE(late.end_error().has_value());
  EXPECT_EQ(texts(late.events())[101], a);
  EXPECT_EQ(texts(early.events()), texts(late.events()));
}

TEST(LogFollowHub, ResumeAfterSeqGivesExactlyTheMissingEvents) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning, kRunning}));
  LogCollector first(f.follow());
  f.scheduler.run_due();
  std::string a;
  std::string b;
  for (int i = 0; i < 6; ++i) {
    a += line(i);
    if (i % 2 == 0) b += line(50 + i);
    f.logs.content[101] = a.substr(0, a.size() - 2);  // always mid-emoji
    f.logs.content[102] = b;
    f.run(milliseconds(1000));
  }
  // One resume while the step still runs; it continues live.
  const std::vector<LogEvent> so_far = first.events();
  ASSERT_GE(so_far.size(), 3u);
  const std::uint64_t mid = so_far[so_far.size() / 2].seq;
  LogCollector live(f.follow({}, mid));

  f.logs.content[101] = a;
  f.source.set(kJob, job_state(3, {kSuccess, kSuccess}, true));
  f.run(milliseconds(3000));
  ASSERT_TRUE(first.ended());
  const std::vector<LogEvent> all = first.events();

  auto check = [&](std::uint64_t after, const std::vector<LogEvent>& got) {
    std::vector<LogEvent> joined;
    for (const auto& e : all) {
      if (e.seq <= after) joined.push_back(e);
    }
    for (const auto& e : got) {
      EXPECT_TRUE(e.resumed);
      EXPECT_GT(e.seq, after);
      joined.push_back(e);
    }
    std::map<std::int64_t, std::string> t = texts(joined);
    EXPECT_EQ(t[101], a) << "after " << after;
    EXPECT_EQ(t[102], b) << "after " << after;
    std::size_t ends = 0;
    for (const auto& e : joined) ends += e.kind == LogEvent::Kind::kHostEnd ? 1 : 0;
    EXPECT_EQ(ends, 2u) << "after " << after;
  };
  ASSERT_TRUE(live.ended());
  check(mid, live.events());
  // And after every event the first follower saw.
  for (const auto& e : all) {
    LogCollector resumed(f.follow({}, e.seq));
    ASSERT_TRUE(resumed.ended());
    EXPECT_FALSE(resumed.end_error().has_value());
    check(e.seq, resumed.events());
  }
}

TEST(LogFollowHub, UnknownAfterSeqStartsFromTheBeginning) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning}));
  f.logs.content[101] = "hello\n";
  LogCollector first(f.follow());
  f.scheduler.run_due();
  ASSERT_EQ(first.events().size(), 1u);
  const std::uint64_t last = first.events().back().seq;
  for (std::uint64_t unknown : {std::uint64_t{1}, last + 1000}) {
    LogCollector c(f.follow({}, unknown));
    ASSERT_EQ(c.events().size(), 1u) << unknown;
    EXPECT_FALSE(c.events()[0].resumed);
    EXPECT_EQ(c.events()[0].text, "hello\n");
  }
}

TEST(LogFollowHub, StepZeroIsTheFirstStepAndSeqBaseComesFromTheClock) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning}));
  f.logs.content[101] = "x";
  LogCollector c(f.follow({}, std::nullopt, /*step=*/0));
  f.scheduler.run_due();
  ASSERT_EQ(c.events().size(), 1u);
  EXPECT_EQ(c.events()[0].step_instance_id, kStep);
  EXPECT_EQ(c.events()[0].seq,
            ((static_cast<std::uint64_t>(f.scheduler.wall_ms()) / 1000) << 20) + 1);
}

TEST(LogFollowHub, HostNotInStepIsNotFoundNamingIt) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning, kRunning}));
  LogCollector by_id(f.follow({101, 999}));
  Host address;
  address.cloud_id = 0;
  address.ip = "10.0.0.1";
  LogCollector by_address(f.hub.follow(kScope, kJob, kStep, {address}, std::nullopt));
  LogCollector no_step(f.follow({}, std::nullopt, /*step=*/456));
  f.scheduler.run_due();

  ASSERT_TRUE(by_id.ended());
  ASSERT_TRUE(by_id.end_error().has_value());
  EXPECT_EQ(by_id.end_error()->kind, ErrorKind::kNotFound);
  EXPECT_EQ(by_id.end_error()->message, "host_ids: host 999 is not a host of step 75 of job 100");
  EXPECT_TRUE(by_id.events().empty());

  ASSERT_TRUE(by_address.ended());
  ASSERT_TRUE(by_address.end_error().has_value());
  EXPECT_EQ(by_address.end_error()->kind, ErrorKind::kNotFound);
  EXPECT_EQ(by_address.end_error()->message,
            "hosts: host 0:10.0.0.1 is not a host of step 75 of job 100");

  ASSERT_TRUE(no_step.ended());
  ASSERT_TRUE(no_step.end_error().has_value());
  EXPECT_EQ(no_step.end_error()->kind, ErrorKind::kNotFound);
  EXPECT_NE(no_step.end_error()->message.find("step 456"), std::string::npos);
  EXPECT_EQ(f.hub.stats().followers, 0u);
}

TEST(LogFollowHub, UnknownJobEndsFollowersWithTheStatusError) {
  Fixture f;
  LogCollector c(f.follow());
  f.scheduler.run_due();
  ASSERT_TRUE(c.ended());
  ASSERT_TRUE(c.end_error().has_value());
  EXPECT_EQ(c.end_error()->job_code, 1244006);
  EXPECT_EQ(f.hub.stats().steps, 0u);
}

TEST(LogFollowHub, TooManyHostsIsInvalidArgumentAndTooManyOnAStepIsResourceExhausted) {
  LogFollowConfig config = follow_config();
  config.max_hosts = 2;
  config.max_step_hosts = 2;
  Fixture f(config);
  f.source.set(kJob, job_state(2, {kRunning, kRunning, kRunning}));

  LogCollector named(f.follow({101, 102, 103}));
  ASSERT_TRUE(named.ended());
  ASSERT_TRUE(named.end_error().has_value());
  EXPECT_EQ(named.end_error()->kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(named.end_error()->message.rfind("host_ids: ", 0), 0u);

  LogCollector all(f.follow());
  LogCollector two(f.follow({101, 102}));
  LogCollector third(f.follow({103}));
  f.scheduler.run_due();
  ASSERT_TRUE(all.ended());
  EXPECT_EQ(all.end_error()->kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(all.end_error()->message.rfind("host_ids: ", 0), 0u);
  EXPECT_FALSE(two.ended());
  ASSERT_TRUE(third.ended());
  EXPECT_EQ(third.end_error()->kind, ErrorKind::kResourceExhausted);
  // A follower within the hosts already followed costs nothing more: it is let in.
  LogCollector again(f.follow({102}));
  EXPECT_FALSE(again.ended());
  EXPECT_EQ(f.hub.stats().followers, 2u);
}

TEST(LogFollowHub, CapGivesOneTruncatedEventAndStillTheHostEnd) {
  LogFollowConfig config = follow_config();
  config.max_host_log_bytes = 16;
  Fixture f(config);
  f.source.set(kJob, job_state(2, {kRunning, kRunning}));
  LogCollector c(f.follow());
  f.scheduler.run_due();
  f.logs.content[101] = "0123456789";
  f.logs.content[102] = "b";
  f.run(milliseconds(1000));
  f.logs.content[101] = "0123456789abcdefghij";
  f.run(milliseconds(1000));
  f.logs.content[101] = "0123456789abcdefghijklmnopqrstuvwxyz";
  f.logs.content[102] = "bb";
  f.run(milliseconds(1000));
  // Past the cap the host is not asked for any more; the other one still is.
  EXPECT_EQ(f.logs.requests.back().host_ids, (std::vector<std::int64_t>{102}));
  f.source.set(kJob, job_state(3, {kSuccess, kSuccess}, true));
  f.run(milliseconds(3000));

  ASSERT_TRUE(c.ended());
  std::vector<LogEvent> mine;
  for (const auto& e : c.events()) {
    if (e.host.host_id == 101) mine.push_back(e);
  }
  ASSERT_EQ(mine.size(), 3u);
  EXPECT_EQ(mine[0].text, "0123456789");
  EXPECT_FALSE(mine[0].truncated);
  EXPECT_EQ(mine[1].text, "abcdef");
  EXPECT_TRUE(mine[1].truncated);
  EXPECT_EQ(mine[2].kind, LogEvent::Kind::kHostEnd);
  EXPECT_EQ(texts(c.events())[102], "bb");
}

FileLog transfer(std::string dest_path, int status, std::string progress) {
  FileLog e;
  e.mode = 1;
  e.src.host_id = 201;
  e.src.ip = "192.0.2.200";
  e.src_path = "/data/pkg.tar";
  e.dest.host_id = 101;
  e.dest.ip = "192.0.2.1";
  e.dest_path = std::move(dest_path);
  e.status = status;
  e.progress = std::move(progress);
  return e;
}

TEST(LogFollowHub, FileStepGetsFileEventsOnlyForChangedEntries) {
  Fixture f;
  JobSnapshot s = job_state(2, {kRunning});
  s.steps[0].type = kStepFile;
  f.source.set(kJob, s);
  f.logs.files[101] = {transfer("/opt/a", 3, "10%"), transfer("/opt/b", 1, "0%")};
  LogCollector c(f.follow());
  f.scheduler.run_due();
  f.run(milliseconds(1000));  // nothing changed
  f.logs.files[101] = {transfer("/opt/a", 3, "60%"), transfer("/opt/b", 1, "0%")};
  f.run(milliseconds(1000));
  f.logs.files[101] = {transfer("/opt/a", 4, "100%"), transfer("/opt/b", 4, "100%")};
  JobSnapshot done = job_state(3, {kSuccess}, true);
  done.steps[0].type = kStepFile;
  f.source.set(kJob, done);
  f.run(milliseconds(3000));

  ASSERT_TRUE(c.ended());
  EXPECT_FALSE(c.end_error().has_value());
  std::vector<LogEvent> events = c.events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kind, LogEvent::Kind::kFile);
  EXPECT_EQ(events[0].file_entries.size(), 2u);
  EXPECT_EQ(events[1].kind, LogEvent::Kind::kFile);
  ASSERT_EQ(events[1].file_entries.size(), 1u);
  EXPECT_EQ(events[1].file_entries[0].dest_path, "/opt/a");
  EXPECT_EQ(events[1].file_entries[0].progress, "60%");
  EXPECT_EQ(events[2].kind, LogEvent::Kind::kFile);
  EXPECT_EQ(events[2].file_entries.size(), 2u);
  EXPECT_EQ(events[3].kind, LogEvent::Kind::kHostEnd);
  EXPECT_EQ(events[3].status, kSuccess);
}

TEST(LogFollowHub, StatusStreamErrorEndsEveryFollowerOfTheJob) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning, kRunning}));
  f.logs.content[101] = "a";
  LogCollector one(f.follow({101}));
  LogCollector both(f.follow());
  f.scheduler.run_due();
  ASSERT_FALSE(one.events().empty());
  Error gone;
  gone.kind = ErrorKind::kJob;
  gone.job_code = 1244006;
  gone.message = "job instance does not exist";
  f.source.fail(kJob, gone);
  f.run(milliseconds(1000));
  for (LogCollector* c : {&one, &both}) {
    ASSERT_TRUE(c->ended());
    ASSERT_TRUE(c->end_error().has_value());
    EXPECT_EQ(c->end_error()->job_code, 1244006);
  }
  EXPECT_EQ(f.hub.stats().followers, 0u);
  EXPECT_EQ(f.hub.stats().steps, 0u);
}

TEST(LogFollowHub, FailedReadsBackOffThenGiveUpWithTimeout) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning}));
  LogCollector c(f.follow());
  f.scheduler.run_due();
  Error flaky;
  flaky.kind = ErrorKind::kTransport;
  flaky.message = "connection reset";
  f.logs.error = flaky;
  f.run(milliseconds(10000));
  EXPECT_FALSE(c.ended());
  EXPECT_GT(f.hub.stats().read_errors, 0u);
  // A good read in between starts the count again.
  f.logs.error.reset();
  f.logs.content[101] = "back\n";
  f.run(milliseconds(5000));
  EXPECT_EQ(texts(c.events())[101], "back\n");
  f.logs.error = flaky;
  f.run(milliseconds(25000));
  EXPECT_FALSE(c.ended());
  f.run(milliseconds(10000));
  ASSERT_TRUE(c.ended());
  ASSERT_TRUE(c.end_error().has_value());
  EXPECT_EQ(c.end_error()->kind, ErrorKind::kTimeout);
}

TEST(LogFollowHub, JobSayingTheStepIsGoneEndsItsFollowers) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning}));
  LogCollector c(f.follow());
  f.scheduler.run_due();
  Error gone;
  gone.kind = ErrorKind::kJob;
  gone.job_code = 1244007;
  gone.message = "step instance does not exist";
  f.logs.error = gone;
  f.run(milliseconds(1000));
  ASSERT_TRUE(c.ended());
  ASSERT_TRUE(c.end_error().has_value());
  EXPECT_EQ(c.end_error()->job_code, 1244007);
}

TEST(LogFollowHub, CancelFreesTheFollower) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning}));
  LogCollector a(f.follow());
  LogCollector b(f.follow());
  f.scheduler.run_due();
  EXPECT_EQ(f.hub.stats().followers, 2u);
  a.follower().cancel();
  EXPECT_EQ(f.hub.stats().followers, 1u);
  EXPECT_EQ(f.hub.followers_of(kScope, kJob), 1u);
  a.follower().cancel();  // idempotent
  EXPECT_EQ(f.hub.stats().followers, 1u);
  f.logs.content[101] = "still\n";
  f.run(milliseconds(1000));
  EXPECT_EQ(texts(b.events())[101], "still\n");
  EXPECT_TRUE(texts(a.events()).empty());
  b.follower().cancel();
  EXPECT_EQ(f.hub.stats().followers, 0u);
  EXPECT_EQ(f.hub.followers_of(kScope, kJob), 0u);
  // Nobody follows: no more log reads, and the job's status is no longer polled for us.
  const std::size_t reads = f.logs.reads();
  f.logs.content[101] = "still\nmore\n";
  f.run(milliseconds(5000));
  EXPECT_EQ(f.logs.reads(), reads);
  EXPECT_EQ(f.status.stats().subscribers, 0u);
}

TEST(LogFollowHub, StepStateIsDroppedAfterRetention) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning}));
  f.logs.content[101] = "done\n";
  LogCollector c(f.follow());
  f.scheduler.run_due();
  f.source.set(kJob, job_state(3, {kSuccess}, true));
  f.run(milliseconds(2000));
  ASSERT_TRUE(c.ended());
  const std::uint64_t last = c.events().back().seq;
  EXPECT_EQ(f.hub.stats().steps, 1u);
  EXPECT_EQ(f.hub.stats().followers, 0u);

  // Within retention a resume is served from the held state.
  f.run(milliseconds(30000));
  LogCollector resumed(f.follow({}, last));
  ASSERT_TRUE(resumed.ended());
  EXPECT_TRUE(resumed.events().empty());

  f.run(milliseconds(59000));
  EXPECT_EQ(f.hub.stats().steps, 1u);
  f.run(milliseconds(2000));
  EXPECT_EQ(f.hub.stats().steps, 0u);
  EXPECT_EQ(f.hub.followers_of(kScope, kJob), 0u);

  // A new state numbers above the old one: the old seq is unknown to it.
  LogCollector fresh(f.follow({}, last));
  f.run(milliseconds(1000));
  ASSERT_TRUE(fresh.ended());
  ASSERT_EQ(fresh.events().size(), 2u);
  EXPECT_FALSE(fresh.events()[0].resumed);
  EXPECT_EQ(fresh.events()[0].text, "done\n");
  EXPECT_GT(fresh.events()[0].seq, last);
}

TEST(LogFollowHub, ShutdownEndsFollowersAndRefusesNewOnes) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning}));
  LogCollector c(f.follow());
  f.scheduler.run_due();
  Error reason;
  reason.kind = ErrorKind::kCancelled;
  reason.message = "jobgw is shutting down";
  f.hub.shutdown(reason);
  f.hub.shutdown(reason);
  ASSERT_TRUE(c.ended());
  ASSERT_TRUE(c.end_error().has_value());
  EXPECT_EQ(c.end_error()->kind, ErrorKind::kCancelled);
  LogCollector late(f.follow());
  ASSERT_TRUE(late.ended());
  EXPECT_EQ(late.end_error()->kind, ErrorKind::kCancelled);
  EXPECT_EQ(f.hub.stats().followers, 0u);
  EXPECT_EQ(f.hub.stats().steps, 0u);
  const std::size_t reads = f.logs.reads();
  f.run(milliseconds(5000));
  EXPECT_EQ(f.logs.reads(), reads);
}

TEST(LogFollowHub, FollowerWaitsForTheStatusBeforeItsFirstItem) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning}));
  f.source.hold(true);
  f.logs.content[101] = "hi";
  LogCollector c(f.follow());
  f.scheduler.run_due();
  EXPECT_TRUE(c.events().empty());
  EXPECT_FALSE(c.ended());
  EXPECT_EQ(f.logs.reads(), 0u);
  f.source.hold(false);
  f.source.release();
  f.scheduler.run_due();
  ASSERT_EQ(c.events().size(), 1u);
  EXPECT_EQ(c.events()[0].text, "hi");
}

// Followers come, read and leave on several threads while the clock (reads, status polls,
// deliveries) runs on another: every follower that stays gets each host's whole log once.
TEST(LogFollowHub, FollowersOnManyThreadsEachGetTheWholeLog) {
  Fixture f;
  f.source.set(kJob, job_state(2, {kRunning, kRunning, kRunning}));
  std::string full;
  std::atomic<bool> writing{true};
  std::mutex kept_mu;
  std::vector<std::unique_ptr<LogCollector>> kept;
  // The first follower subscribes to the job's status here: the scripted status source is read
  // on the clock's thread only.
  kept.push_back(std::make_unique<LogCollector>(f.follow()));
  f.scheduler.run_due();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&f, &kept_mu, &kept, &writing, t] {
      for (int i = 0; writing.load(); ++i) {
        std::vector<std::int64_t> hosts;
        if ((i + t) % 3 == 1) hosts = {101 + (i + t) % 3};
        auto c = std::make_unique<LogCollector>(f.follow(hosts));
        if (i % 4 == 0) {
          std::lock_guard<std::mutex> lock(kept_mu);
          kept.push_back(std::move(c));
        } else {
          std::this_thread::yield();
          c->follower().cancel();
        }
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    full += line(i);
    {
      std::lock_guard<std::mutex> lock(f.logs.mu);
      for (std::int64_t id : {101, 102, 103}) f.logs.content[id] = full.substr(0, full.size() - 3);
    }
    f.run(milliseconds(250));
  }
  writing = false;
  for (auto& thread : threads) thread.join();
  {
    std::lock_guard<std::mutex> lock(f.logs.mu);
    for (std::int64_t id : {101, 102, 103}) f.logs.content[id] = full;
  }
  f.source.set(kJob, job_state(3, {kSuccess, kSuccess, kSuccess}, true));
  f.run(milliseconds(3000));

  ASSERT_FALSE(kept.empty());
  for (const auto& c : kept) {
    ASSERT_TRUE(c->ended());
    EXPECT_FALSE(c->end_error().has_value());
    for (const auto& [host, text] : texts(c->events())) EXPECT_EQ(text, full) << host;
  }
  EXPECT_EQ(f.hub.stats().followers, 0u);
}

}  // namespace
}  // namespace jobgw::core
