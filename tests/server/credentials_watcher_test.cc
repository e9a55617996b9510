#include "server/credentials_watcher.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/metrics/metrics.h"
#include "server/authorizer.h"
#include "server/server_metrics.h"
#include "tests/support/manual_scheduler.h"
#include "tests/support/temp_dir.h"

namespace jobgw::server {
namespace {

using namespace std::chrono_literals;

std::string one_caller(const std::string& name, const std::string& token) {
  return R"({"callers": [{"name": ")" + name + R"(", "token_sha256": ")" +
         core::token_sha256_hex(token) + R"(", "scopes": ["biz:1"], "operations": ["read"]}]})";
}

std::string caller_for(const Authorizer& a, const std::string& token) {
  return a.authenticate(Presented{{"Bearer " + token}, {}}).name();
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

class CredentialsWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write(one_caller("first", "tok-1"));
    auto loaded = core::Credentials::load(path_);
    ASSERT_TRUE(loaded.ok());
    authorizer_ = std::make_unique<Authorizer>(std::move(loaded.value()));
    watcher_ =
        std::make_unique<CredentialsWatcher>(*authorizer_, path_, scheduler_, 100ms, &metrics_);
  }
  void TearDown() override {
    if (watcher_) watcher_->stop();
  }

  void write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }

  jobgw::testing::TempDir dir_{"credentials-watcher"};
  const std::string path_ = dir_.file("credentials.json");
  core::ManualScheduler scheduler_;
  core::Metrics core_metrics_;
  ServerMetrics metrics_{core_metrics_};
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<CredentialsWatcher> watcher_;
};

TEST_F(CredentialsWatcherTest, AChangedFileIsLoadedAtTheNextPoll) {
  watcher_->start();
  scheduler_.advance(100ms);
  EXPECT_EQ(caller_for(*authorizer_, "tok-1"), "first");  // unchanged: nothing reloaded
  EXPECT_TRUE(has_line(metrics_.serialize(), R"(jobgw_credentials_reloads_total{outcome="ok"} 0)"));

  write(one_caller("second-caller", "tok-2"));  // another size, so a change even within one tick
  scheduler_.advance(100ms);
  EXPECT_EQ(caller_for(*authorizer_, "tok-2"), "second-caller");
  EXPECT_EQ(caller_for(*authorizer_, "tok-1"), "unauthenticated");
  EXPECT_TRUE(has_line(metrics_.serialize(), R"(jobgw_credentials_reloads_total{outcome="ok"} 1)"));
}

TEST_F(CredentialsWatcherTest, ABadFileKeepsTheCredentialsInForceAndIsCountedOnce) {
  watcher_->start();
  write(R"({"callers": [{"name": "broken", "scopes": ["biz:1"]}]})");
  scheduler_.advance(100ms);
  scheduler_.advance(100ms);
  scheduler_.advance(100ms);
  EXPECT_EQ(caller_for(*authorizer_, "tok-1"), "first");
  EXPECT_TRUE(
      has_line(metrics_.serialize(), R"(jobgw_credentials_reloads_total{outcome="failed"} 1)"));

  // Fixed: the next poll loads it.
  write(one_caller("fixed", "tok-3"));
  scheduler_.advance(100ms);
  EXPECT_EQ(caller_for(*authorizer_, "tok-3"), "fixed");
}

TEST_F(CredentialsWatcherTest, AMissingFileKeepsTheCredentialsInForce) {
  watcher_->start();
  std::remove(path_.c_str());
  scheduler_.advance(100ms);
  EXPECT_EQ(caller_for(*authorizer_, "tok-1"), "first");
  EXPECT_FALSE(watcher_->reload("sighup").ok());
  EXPECT_EQ(caller_for(*authorizer_, "tok-1"), "first");
}

TEST_F(CredentialsWatcherTest, ReloadLoadsAtOnceWithoutPolling) {
  write(one_caller("by-signal", "tok-4"));
  auto reloaded = watcher_->reload("sighup");
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
  EXPECT_EQ(caller_for(*authorizer_, "tok-4"), "by-signal");
}

TEST_F(CredentialsWatcherTest, StopEndsPolling) {
  watcher_->start();
  watcher_->stop();
  write(one_caller("ignored", "tok-5"));
  scheduler_.advance(1000ms);
  EXPECT_EQ(caller_for(*authorizer_, "tok-1"), "first");
  EXPECT_EQ(scheduler_.pending(), 0u);
}

}  // namespace
}  // namespace jobgw::server
