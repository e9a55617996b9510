#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "core/base/result.h"
#include "core/base/targets.h"
#include "core/job/job_snapshot.h"

namespace jobgw::core {
class WatchHub;
}  // namespace jobgw::core

// What ListJobs lists: the jobs jobgw watches or saw finish recently, with who submitted them.
namespace jobgw::server {

struct CatalogEntry {
  core::Scope scope;
  std::int64_t job_instance_id = 0;
  std::shared_ptr<const core::JobSnapshot> snapshot;  // null until JOB was first read
  std::string caller;                                 // empty: not submitted through jobgw
  std::string job_operator;
  // The name JOB gave the job when it was submitted through jobgw (before the first read).
  std::string name;
  std::int64_t first_seen_ms = 0;
  std::size_t subscribers = 0;
};

// Who submitted a job through jobgw and as whom it runs.
struct SubmitRecord {
  std::string caller;
  std::string job_operator;
  std::string name;
};

class JobCatalog {
 public:
  virtual ~JobCatalog() = default;
  // A submit through jobgw started the job.
  virtual void submitted(const core::Scope& scope, std::int64_t job_instance_id,
                         SubmitRecord record) = 0;
  // Every job known, in no particular order; `done` may run inline.
  virtual void list(std::function<void(core::Result<std::vector<CatalogEntry>>)> done) = 0;
};

// Submit records kept in memory, the newest `capacity`: a job the hub has long dropped does not
// need its submitter remembered.
class SubmitRecords {
 public:
  explicit SubmitRecords(std::size_t capacity = 20000) : capacity_(capacity) {}
  void put(const core::Scope& scope, std::int64_t job_instance_id, SubmitRecord record);
  // The record, if kept; an empty one otherwise.
  SubmitRecord get(const core::Scope& scope, std::int64_t job_instance_id) const;

 private:
  using Key = std::tuple<std::string, std::string, std::int64_t>;
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::map<Key, SubmitRecord> records_;
  std::deque<Key> order_;
};

// One replica: the hub's jobs (watched, and finished ones it keeps for watch.finished_retention)
// with the submit records; `followers` adds the log followers of a job to its subscribers.
class LocalJobCatalog : public JobCatalog {
 public:
  using Followers = std::function<std::size_t(const core::Scope&, std::int64_t)>;
  explicit LocalJobCatalog(const core::WatchHub& hub, Followers followers = {});

  void submitted(const core::Scope& scope, std::int64_t job_instance_id,
                 SubmitRecord record) override;
  void list(std::function<void(core::Result<std::vector<CatalogEntry>>)> done) override;

 private:
  const core::WatchHub& hub_;
  Followers followers_;
  SubmitRecords records_;
};

}  // namespace jobgw::server
