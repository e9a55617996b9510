#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/base/scheduler.h"
#include "core/base/targets.h"
#include "core/watch/read_budget.h"
#include "core/watch/watch_hub.h"

namespace jobgw::core {

// A subscribed job a sweep checks: where JOB lists it and the status its last read showed.
struct SweepJob {
  Scope scope;
  std::int64_t job_instance_id = 0;
  // JOB's create_time; before the first read, when jobgw began watching it (`estimated`): JOB
  // created it shortly before, by a clock that may differ from jobgw's.
  std::int64_t create_time_ms = 0;
  bool estimated = false;
  // 0 before the first read: then any listed status but not started (1) or running (2) counts
  // as a change, so a job that ended while its first read waited is read at once.
  int status = 0;
};

// The hub's sweeps while its reads wait for budget tokens (WatchHubConfig::sweep_interval): per
// scope, JOB's job list over the create times of the subscribed jobs, a page per budget token;
// a job listed with another status than its last read is handed to `changed`. Armed by a read
// that waited an interval or more for its token, it keeps sweeping only while reads still wait
// that long, so a hub within its budget (short waits in a burst on the poll grid included)
// makes no list reads at all; the next sweep comes an interval after the last page of the one
// before (longer after failures).
class ListSweep : public std::enable_shared_from_this<ListSweep> {
 public:
  // Fills `jobs` with the subscribed jobs to check; false when no read has waited an interval
  // for its token.
  using Collect = std::function<bool(std::vector<SweepJob>& jobs)>;
  using Changed = std::function<void(const Scope& scope, std::int64_t job_instance_id)>;

  static std::shared_ptr<ListSweep> create(Scheduler& scheduler, StatusSource& source,
                                           ReadBudget& budget, const WatchHubConfig& config,
                                           WatchObserver& observer, Collect collect,
                                           Changed changed);

  // A read waited an interval for its token: sweep one interval from now, unless a sweep is
  // due already.
  void arm();
  // No sweep starts after this; a page already asked for is still handed over.
  void stop();

 private:
  ListSweep(Scheduler& scheduler, StatusSource& source, ReadBudget& budget,
            const WatchHubConfig& config, WatchObserver& observer, Collect collect,
            Changed changed);
  void run();
  // Reads the page at `start` of the scope's list, and the next one while `pages` allow and
  // the list goes on. `round` is let go when the sweep's last page is done.
  void read_page(JobListRequest request, std::shared_ptr<const std::vector<SweepJob>> jobs,
                 int pages, std::shared_ptr<void> round);
  void compare(const std::vector<SweepJob>& jobs, const JobInstancePage& page);
  // A page read failed: sweeps back off (the first failure of a run is logged).
  void failed(const Error& error);

  Scheduler& scheduler_;
  StatusSource& source_;
  ReadBudget& budget_;
  const std::chrono::milliseconds interval_;
  const std::size_t min_jobs_;
  const std::int64_t page_;
  WatchObserver& observer_;
  const Collect collect_;
  const Changed changed_;

  std::mutex mu_;
  std::shared_ptr<Timer> timer_;
  bool sweeping_ = false;  // from a sweep's start until its last page is done
  int failures_ = 0;       // page reads failed in a row
  bool stopped_ = false;
};

}  // namespace jobgw::core
