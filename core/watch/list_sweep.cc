#include "core/watch/list_sweep.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <unordered_map>
#include <utility>

namespace jobgw::core {

namespace {

// JOB refuses a create-time window wider than 30 days.
constexpr std::int64_t kMaxWindowMs = 30LL * 24 * 3600 * 1000;
// JOB's create_time and the window's edges may round differently: a second either side.
constexpr std::int64_t kEdgeMs = 1000;
// An estimated create time (SweepJob::estimated) may be this far from JOB's, either way: JOB
// created the job just before jobgw began watching it, by a clock that may run apart.
constexpr std::int64_t kEstimateMs = 60000;

bool changed(const SweepJob& job, int listed) {
  if (job.status == 0) return listed != 1 && listed != 2;
  return job.status != listed;
}

// Held by every page read of one sweep; the last one to let go arms the next sweep, so sweeps
// never overlap and a slow JOB or a crowded queue spaces them out instead of piling pages up.
class Round {
 public:
  explicit Round(std::function<void()> done) : done_(std::move(done)) {}
  Round(const Round&) = delete;
  Round& operator=(const Round&) = delete;
  ~Round() { done_(); }

 private:
  std::function<void()> done_;
};

}  // namespace

std::shared_ptr<ListSweep> ListSweep::create(Scheduler& scheduler, StatusSource& source,
                                             ReadBudget& budget, const WatchHubConfig& config,
                                             WatchObserver& observer, Collect collect,
                                             Changed changed) {
  return std::shared_ptr<ListSweep>(new ListSweep(scheduler, source, budget, config, observer,
                                                  std::move(collect), std::move(changed)));
}

ListSweep::ListSweep(Scheduler& scheduler, StatusSource& source, ReadBudget& budget,
                     const WatchHubConfig& config, WatchObserver& observer, Collect collect,
                     Changed changed)
    : scheduler_(scheduler),
      source_(source),
      budget_(budget),
      interval_(config.sweep_interval),
      min_jobs_(std::max<std::size_t>(1, config.sweep_min_jobs)),
      page_(std::max<std::int64_t>(1, config.sweep_page)),
      observer_(observer),
      collect_(std::move(collect)),
      changed_(std::move(changed)) {}

void ListSweep::arm() {
  if (interval_.count() <= 0 || !source_.can_list()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_ || sweeping_ || timer_ != nullptr) return;
  std::weak_ptr<ListSweep> weak = weak_from_this();
  // A JOB that refuses or fails the list (no permission for it, an outage) would otherwise cost
  // a token every interval: each failed sweep in a row doubles the wait, up to 64 intervals.
  const auto delay = interval_ * (1 << std::min(failures_, 6));
  timer_ = scheduler_.after(delay, [weak] {
    if (auto self = weak.lock()) self->run();
  });
}

void ListSweep::stop() {
  std::shared_ptr<Timer> timer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    timer = std::move(timer_);
  }
  if (timer) timer->cancel();
}

void ListSweep::run() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    timer_.reset();
    if (stopped_) return;
  }
  std::vector<SweepJob> jobs;
  if (!collect_(jobs)) return;  // no read waits: the next one to wait arms the sweep again
  std::weak_ptr<ListSweep> weak = weak_from_this();
  {
    std::lock_guard<std::mutex> lock(mu_);
    sweeping_ = true;
  }
  auto round = std::make_shared<Round>([weak] {
    auto self = weak.lock();
    if (!self) return;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->sweeping_ = false;
    }
    self->arm();
  });
  std::map<std::pair<std::string, std::string>, std::vector<SweepJob>> by_scope;
  for (auto& job : jobs) {
    if (job.create_time_ms <= 0) continue;
    by_scope[{job.scope.type, job.scope.id}].push_back(std::move(job));
  }
  for (auto& [key, scope_jobs] : by_scope) {
    if (scope_jobs.size() < min_jobs_) continue;
    std::int64_t from = scope_jobs.front().create_time_ms;
    std::int64_t to = from;
    for (const auto& job : scope_jobs) {
      const std::int64_t margin = job.estimated ? kEstimateMs : 0;
      from = std::min(from, job.create_time_ms - margin);
      to = std::max(to, job.create_time_ms + margin);
    }
    JobListRequest request;
    request.scope = scope_jobs.front().scope;
    request.create_time_end = to + kEdgeMs;
    request.create_time_start = std::max(from - kEdgeMs, request.create_time_end - kMaxWindowMs);
    request.start = 0;
    request.length = page_;
    const int pages =
        static_cast<int>((static_cast<std::int64_t>(scope_jobs.size()) + page_ - 1) / page_) + 1;
    read_page(std::move(request),
              std::make_shared<const std::vector<SweepJob>>(std::move(scope_jobs)), pages, round);
  }
}

void ListSweep::read_page(JobListRequest request, std::shared_ptr<const std::vector<SweepJob>> jobs,
                          int pages, std::shared_ptr<void> round) {
  std::weak_ptr<ListSweep> weak = weak_from_this();
  ReadRank rank;
  rank.kind = ReadRank::Kind::kSignal;
  budget_.acquire(
      [weak, request = std::move(request), jobs = std::move(jobs), pages, round]() mutable {
        auto self = weak.lock();
        if (!self) return;
        JobListRequest asked = request;
        self->source_.list_jobs(
            asked, [weak, request = std::move(request), jobs = std::move(jobs), pages,
                    round = std::move(round)](Result<JobInstancePage> page) mutable {
              auto self = weak.lock();
              if (!self) return;
              if (!page.ok()) {
                self->observer_.on_sweep(false, 0);
                self->failed(page.error());
                return;
              }
              {
                std::lock_guard<std::mutex> lock(self->mu_);
                self->failures_ = 0;
              }
              self->compare(*jobs, page.value());
              const std::int64_t next = request.start + request.length;
              if (pages > 1 && next < page.value().total) {
                {
                  std::lock_guard<std::mutex> lock(self->mu_);
                  if (self->stopped_) return;
                }
                request.start = next;
                self->read_page(std::move(request), std::move(jobs), pages - 1, std::move(round));
              }
            });
      },
      rank);
}

void ListSweep::failed(const Error& error) {
  int failures;
  {
    std::lock_guard<std::mutex> lock(mu_);
    failures = ++failures_;
  }
  if (failures == 1) {
    spdlog::warn("watch_sweep_failed next_in_ms={} {}", (interval_ * 2).count(), error.describe());
  }
}

void ListSweep::compare(const std::vector<SweepJob>& jobs, const JobInstancePage& page) {
  std::unordered_map<std::int64_t, const SweepJob*> last_read;
  last_read.reserve(jobs.size());
  for (const auto& job : jobs) last_read.emplace(job.job_instance_id, &job);
  std::vector<const SweepJob*> found;
  for (const auto& listed : page.jobs) {
    auto it = last_read.find(listed.job_instance_id);
    if (it != last_read.end() && changed(*it->second, listed.status)) {
      found.push_back(it->second);
    }
  }
  observer_.on_sweep(true, found.size());
  for (const SweepJob* job : found) changed_(job->scope, job->job_instance_id);
}

}  // namespace jobgw::core
