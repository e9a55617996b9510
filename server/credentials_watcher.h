#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/base/result.h"
#include "core/base/scheduler.h"

namespace jobgw::server {

class ServerMetrics;

class Authorizer;

// Keeps an Authorizer's credentials in step with auth.credentials_file without a restart: on
// reload() (SIGHUP) and whenever a poll every auth.reload_interval_ms sees the file's mtime or
// size change (a Kubernetes Secret update swaps the file behind a symlink; stat follows it).
// A file that fails to load keeps the credentials in force, logs an error and counts
// jobgw_credentials_reloads_total{outcome="failed"}: never fail open, never crash.
class CredentialsWatcher {
 public:
  // `metrics` may be null. The authorizer, scheduler and metrics must outlive the watcher.
  CredentialsWatcher(Authorizer& authorizer, std::string path, core::Scheduler& scheduler,
                     std::chrono::milliseconds interval, ServerMetrics* metrics);
  ~CredentialsWatcher();
  CredentialsWatcher(const CredentialsWatcher&) = delete;
  CredentialsWatcher& operator=(const CredentialsWatcher&) = delete;

  // Polls from now on (interval 0: never; SIGHUP still reloads).
  void start();
  void stop();
  // Loads the file now; `trigger` ("sighup", "file_changed") goes into the log line.
  core::Result<void> reload(const std::string& trigger);

 private:
  struct Stamp {
    std::int64_t mtime_ns = -1;
    std::int64_t size = -1;
    bool operator==(const Stamp& o) const { return mtime_ns == o.mtime_ns && size == o.size; }
  };
  Stamp stamp() const;
  void arm();
  void poll();

  Authorizer& authorizer_;
  const std::string path_;
  core::Scheduler& scheduler_;
  const std::chrono::milliseconds interval_;
  ServerMetrics* metrics_;
  std::mutex mu_;
  Stamp seen_;  // of the file last loaded (or last failed), so one bad version logs once
  bool stopped_ = true;
  std::shared_ptr<core::Timer> timer_;
};

}  // namespace jobgw::server
