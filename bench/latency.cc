#include "latency.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_grpc.h"
#include "bench_http.h"
#include "bench_stats.h"

namespace jobgw::bench {

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kScript = "echo latency";

// JOB's timestamps of one finished job: when it started, each host ended, it ended.
struct JobTimes {
  std::int64_t start_ms = 0;
  std::map<std::int64_t, std::int64_t> host_end_ms;
  std::int64_t end_ms = 0;
};

JobTimes times_of(const v1::JobSnapshot& s) {
  JobTimes t;
  t.start_ms = s.start_time_ms();
  t.end_ms = s.end_time_ms();
  for (const auto& step : s.steps()) {
    for (const auto& h : step.hosts()) t.host_end_ms[h.host().host_id()] = h.end_time_ms();
  }
  return t;
}

JobTimes times_of(const nlohmann::json& data) {
  JobTimes t;
  const auto& job = data["job_instance"];
  t.start_ms = job.value("start_time", std::int64_t{0});
  t.end_ms = job.value("end_time", std::int64_t{0});
  for (const auto& step : data["step_instance_list"]) {
    for (const auto& h : step["step_ip_result_list"]) {
      t.host_end_ms[h.value("bk_host_id", std::int64_t{0})] = h.value("end_time", std::int64_t{0});
    }
  }
  return t;
}

// What a poller saw in one JOB answer (the baseline's view).
void note_json(const nlohmann::json& data, std::int64_t now_ms, SeenTimes& seen) {
  const int status = data["job_instance"].value("status", 0);
  if (seen.running_ms == 0 && status >= 2) seen.running_ms = now_ms;
  for (const auto& step : data["step_instance_list"]) {
    for (const auto& h : step["step_ip_result_list"]) {
      const int hs = h.value("status", 0);
      if (hs != 5 && hs != 7 && hs != 0) {
        seen.host_final_ms.emplace(h.value("bk_host_id", std::int64_t{0}), now_ms);
      }
    }
  }
  if (data.value("finished", false) && seen.finished_ms == 0) seen.finished_ms = now_ms;
}

struct Delays {
  std::vector<double> start, host, finish;
  int missed = 0;  // a change the caller never saw

  // hosts false: the caller was not told of host changes (a progress-only stream), so there is
  // no host delay to count.
  void add(const JobTimes& job, const SeenTimes& seen, int young_ms, bool hosts = true) {
    auto young = [&](std::int64_t at) { return at > 0 && at - job.start_ms < young_ms; };
    if (seen.running_ms == 0)
      ++missed;
    else
      start.push_back(static_cast<double>(seen.running_ms - job.start_ms));
    for (const auto& [host_id, end] : job.host_end_ms) {
      if (!hosts) break;
      auto it = seen.host_final_ms.find(host_id);
      if (it == seen.host_final_ms.end())
        ++missed;
      else if (young(end))
        host.push_back(static_cast<double>(it->second - end));
    }
    if (seen.finished_ms == 0)
      ++missed;
    else if (young(job.end_ms))
      finish.push_back(static_cast<double>(seen.finished_ms - job.end_ms));
  }
};

nlohmann::json summarize(const std::vector<double>& samples) {
  Percentiles p = percentiles(samples);
  return {{"n", samples.size()}, {"p50", p.p50}, {"p95", p.p95}, {"p99", p.p99}, {"max", p.max}};
}

nlohmann::json result(const std::string& mode, const LatencyOptions& o, const Delays& d, int done,
                      int errors, std::int64_t status_reads, double wall_s) {
  return {{"scenario", "latency"},
          {"mode", mode},
          {"label", o.label},
          {"interval_ms", mode == "baseline" ? o.interval_ms : 0},
          {"jobs", o.jobs},
          {"hosts", o.hosts},
          {"young_ms", o.young_ms},
          {"callers_done", done},
          {"errors", errors},
          {"missed_changes", d.missed},
          {"status_reads", status_reads},
          {"status_reads_per_job", static_cast<double>(status_reads) / std::max(1, o.jobs)},
          {"start", summarize(d.start)},
          {"host", summarize(d.host)},
          {"finish", summarize(d.finish)},
          {"detail", mode == "jobgw" ? o.detail : ""},
          {"warmup_jobs", mode == "jobgw" ? o.warmup_jobs : 0},
          {"duration_ms", o.duration_ms},
          {"wall_s", wall_s}};
}

std::int64_t status_requests(const nlohmann::json& stats) {
  if (!stats.is_object() || !stats.contains("requests")) return 0;
  return stats["requests"].value("get_job_instance_status", std::int64_t{0});
}

// jobsim's status reads of these jobs alone (not of the warm-up's).
std::int64_t status_reads_of(const nlohmann::json& stats, const std::vector<std::int64_t>& jobs) {
  if (!stats.is_object() || !stats.contains("status_reads")) return 0;
  std::int64_t n = 0;
  for (auto id : jobs) n += stats["status_reads"].value(std::to_string(id), std::int64_t{0});
  return n;
}

v1::WatchDetail detail_of(const std::string& name) {
  if (name == "hosts") return v1::WATCH_DETAIL_HOSTS;
  if (name == "progress") return v1::WATCH_DETAIL_PROGRESS;
  throw std::runtime_error("--detail: hosts or progress");
}

// One WatchStatus stream asking for `detail`, read to its end: what it saw and when.
class DetailWatch : public grpc::ClientReadReactor<v1::StatusEvent> {
 public:
  DetailWatch(v1::JobGateway::Stub* stub, std::int64_t job_id, v1::WatchDetail detail,
              std::chrono::system_clock::time_point deadline, std::function<void()> on_done)
      : on_done_(std::move(on_done)), job_id_(job_id) {
    request_.set_detail(detail);
    start_watch(this, stub, context_, request_, event_, job_id, deadline);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    const std::int64_t now = unix_ms();
    switch (event_.kind()) {
      case v1::EVENT_KIND_JOB_CHANGED:
        if (seen_.running_ms == 0) seen_.running_ms = now;
        break;
      case v1::EVENT_KIND_HOST_CHANGED: {
        const int status = event_.host().new_status();
        if (status != 0 && status != 5 && status != 7) {
          seen_.host_final_ms.emplace(event_.host().host().host_id(), now);
        }
        break;
      }
      case v1::EVENT_KIND_FINISHED:
        note_snapshot(event_.snapshot(), now, seen_);
        seen_.finished_ms = now;
        final_ = event_.snapshot();
        break;
      default:
        if (event_.has_snapshot()) note_snapshot(event_.snapshot(), now, seen_);
        break;
    }
    StartRead(&event_);
  }

  void OnDone(const grpc::Status& status) override {
    ok_ = status.ok();
    on_done_();
  }

  // Valid once on_done ran.
  bool finished() const { return ok_ && seen_.finished_ms != 0; }
  const SeenTimes& seen() const { return seen_; }
  const v1::JobSnapshot& final_snapshot() const { return final_; }
  std::int64_t job_id() const { return job_id_; }

 private:
  grpc::ClientContext context_;
  v1::WatchStatusRequest request_;
  v1::StatusEvent event_;
  std::function<void()> on_done_;
  std::int64_t job_id_;
  bool ok_ = false;
  SeenTimes seen_;
  v1::JobSnapshot final_;
};

// DetailWatch streams, waited for together.
class DetailWatches {
 public:
  void open(v1::JobGateway::Stub* stub, std::int64_t job_id, v1::WatchDetail detail,
            std::chrono::system_clock::time_point deadline) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++open_;
    }
    watches_.push_back(std::make_unique<DetailWatch>(stub, job_id, detail, deadline, [this] {
      std::lock_guard<std::mutex> lock(mu_);
      if (--open_ == 0) cv_.notify_all();
    }));
  }
  void wait_all() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_ == 0; });
  }
  const std::vector<std::unique_ptr<DetailWatch>>& watches() const { return watches_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int open_ = 0;
  std::vector<std::unique_ptr<DetailWatch>> watches_;
};

// A job through jobgw whose step times out after 1 s, so it ends then whatever jobsim's
// synthetic range; followed to FINISHED. Throws when it does not get there.
void warm_up(v1::JobGateway::Stub& stub, const std::vector<std::int64_t>& hosts,
             v1::WatchDetail detail, std::chrono::system_clock::time_point deadline) {
  v1::ExecuteScriptRequest submit;
  submit.mutable_scope()->set_type("biz");
  submit.mutable_scope()->set_id("1");
  submit.set_script_content(kScript);
  submit.set_script_language(v1::SCRIPT_LANGUAGE_SHELL);
  submit.set_task_name("latency-warmup");
  submit.set_timeout_seconds(1);
  for (auto id : hosts) submit.mutable_targets()->add_host_ids(id);
  v1::JobRef ref;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  ctx.set_wait_for_ready(true);
  const grpc::Status s = stub.ExecuteScript(&ctx, submit, &ref);
  if (!s.ok()) throw std::runtime_error("warm-up submit failed: " + s.error_message());
  DetailWatches watch;
  watch.open(&stub, ref.job_instance_id(), detail, deadline);
  watch.wait_all();
  if (!watch.watches().front()->finished()) {
    throw std::runtime_error("warm-up job " + std::to_string(ref.job_instance_id()) +
                             " did not finish");
  }
  // JOB's callback follows the end it reports by a few ms at most; jobgw has it by now.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

}  // namespace

nlohmann::json run_latency_baseline(const LatencyOptions& o) {
  const auto hosts = host_range(o.hosts);
  const nlohmann::json before = jobsim_stats(o.jobsim_port);
  const auto start = Clock::now();
  const auto give_up = start + std::chrono::seconds(o.timeout_s);
  std::mutex mu;
  Delays delays;
  int done = 0;
  int errors = 0;
  // A thread per caller: each is a service of its own, submitting and polling on its connection.
  std::vector<std::thread> callers;
  for (int i = 0; i < o.jobs; ++i) {
    callers.emplace_back([&, i] {
      std::this_thread::sleep_until(start + std::chrono::milliseconds(static_cast<std::int64_t>(
                                                i * 1000.0 / o.jobs_per_second)));
      HttpConn conn(o.jobsim_port);
      std::string why;
      nlohmann::json ref = job_data(
          conn.post(job_path("fast_execute_script"), script_submit_body(hosts, kScript, "latency")),
          &why);
      if (!ref.is_object()) {
        std::lock_guard<std::mutex> lock(mu);
        ++errors;
        return;
      }
      const std::int64_t job_id = ref["job_instance_id"].get<std::int64_t>();
      SeenTimes seen;
      nlohmann::json data;
      while (Clock::now() < give_up) {
        data = job_data(conn.get(status_target(job_id)), &why);
        const std::int64_t now = unix_ms();
        if (!data.is_object()) break;
        note_json(data, now, seen);
        if (seen.finished_ms != 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(o.interval_ms));
      }
      std::lock_guard<std::mutex> lock(mu);
      if (seen.finished_ms == 0) {
        ++errors;
        return;
      }
      ++done;
      delays.add(times_of(data), seen, o.young_ms);
    });
  }
  for (auto& t : callers) t.join();
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  const nlohmann::json after = jobsim_stats(o.jobsim_port);
  return result("baseline", o, delays, done, errors,
                status_requests(after) - status_requests(before), wall_s);
}

nlohmann::json run_latency_gateway(const LatencyOptions& o) {
  const auto hosts = host_range(o.hosts);
  const v1::WatchDetail detail = detail_of(o.detail);
  auto stubs = make_stubs(o.grpc_address, 1);
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(o.timeout_s);
  for (int i = 0; i < o.warmup_jobs; ++i) warm_up(*stubs[0], hosts, detail, deadline);
  const auto start = Clock::now();
  DetailWatches streams;
  std::vector<std::int64_t> jobs;
  int errors = 0;
  for (int i = 0; i < o.jobs; ++i) {
    std::this_thread::sleep_until(start + std::chrono::milliseconds(static_cast<std::int64_t>(
                                              i * 1000.0 / o.jobs_per_second)));
    try {
      const v1::JobRef ref = submit_through_gateway(*stubs[0], hosts, kScript, "latency");
      jobs.push_back(ref.job_instance_id());
      streams.open(stubs[0].get(), ref.job_instance_id(), detail, deadline);
    } catch (const std::exception&) {
      ++errors;
    }
  }
  streams.wait_all();
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  Delays delays;
  int done = 0;
  for (const auto& s : streams.watches()) {
    if (!s->finished()) {
      ++errors;
      continue;
    }
    ++done;
    delays.add(times_of(s->final_snapshot()), s->seen(), o.young_ms,
               detail != v1::WATCH_DETAIL_PROGRESS);
  }
  return result("jobgw", o, delays, done, errors,
                status_reads_of(jobsim_stats(o.jobsim_port), jobs), wall_s);
}

}  // namespace jobgw::bench
