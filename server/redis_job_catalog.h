#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/base/scheduler.h"
#include "core/redis/redis_client.h"
#include "server/job_catalog.h"

namespace jobgw::core {
class WatchHub;
}  // namespace jobgw::core

namespace jobgw::server {

struct RedisJobCatalogConfig {
  std::string prefix = "jobgw";
  std::string replica_id;
  // How long a submit's record is kept (the idempotency window).
  std::chrono::milliseconds window{std::chrono::hours(24)};
  // Most recent submits ListJobs looks at, besides every unfinished registered job.
  std::size_t max_recent = 2000;
  // Each replica publishes how many streams follow each job this often; a replica silent for
  // three periods no longer counts.
  std::chrono::milliseconds publish_every{std::chrono::seconds(2)};
};

// Replicas: ListJobs lists every replica's jobs from Redis (the shared registry of unfinished
// jobs, a sorted set of recent submits, each job's state hash the owner keeps, its submit
// record), with the streams following it on every live replica. Redis down: kUnavailable.
class RedisJobCatalog : public JobCatalog {
 public:
  using LocalSubscribers = std::function<std::map<std::string, std::size_t>()>;

  // `local` counts this replica's streams per job member ("biz:1:10001").
  RedisJobCatalog(core::RedisClient& redis, core::Scheduler& scheduler,
                  RedisJobCatalogConfig config, LocalSubscribers local);
  ~RedisJobCatalog() override;

  void start();
  void stop();

  void submitted(const core::Scope& scope, std::int64_t job_instance_id,
                 SubmitRecord record) override;
  void list(std::function<void(core::Result<std::vector<CatalogEntry>>)> done) override;

  // "biz:1:10001", as the replica feed names jobs.
  static std::string member(const core::Scope& scope, std::int64_t job_instance_id);

 private:
  void publish();

  core::RedisClient& redis_;
  core::Scheduler& scheduler_;
  const RedisJobCatalogConfig config_;
  LocalSubscribers local_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::shared_ptr<core::Timer> timer_;
};

}  // namespace jobgw::server
