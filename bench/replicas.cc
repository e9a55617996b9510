#include "replicas.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_grpc.h"
#include "bench_http.h"
#include "bench_stats.h"
#include "core/redis/redis_client.h"
#include "jobgw/v1/job_gateway.grpc.pb.h"
#include "tests/support/prometheus_text.h"

namespace jobgw::bench {

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using jobgw::testing::metric_sum;
using jobgw::testing::metric_value;
using std::chrono::milliseconds;
constexpr const char* kScript = "echo replicas";

// ---- Redis: jobgw's own client, waited on ------------------------------------------------------

class RedisConn {
 public:
  explicit RedisConn(int port) : work_(ioc_.get_executor()), thread_([this] { ioc_.run(); }) {
    core::RedisClientConfig config;
    config.endpoint =
        core::parse_redis_url("redis://127.0.0.1:" + std::to_string(port) + "/0").value();
    config.client_name = "jobgw-bench";
    auto client = core::RedisClient::create(ioc_, std::move(config));
    if (!client) throw std::runtime_error("redis: " + client.error().message);
    client_ = std::move(client.value());
  }
  ~RedisConn() {
    client_->shutdown();
    work_.reset();
    ioc_.stop();
    thread_.join();
  }

  // The reply as text (bulk or simple string, integer); nullopt for nil. Throws on an error.
  std::optional<std::string> command(const std::vector<std::string>& args) {
    auto answer = std::make_shared<std::promise<core::Result<core::RedisReply>>>();
    auto future = answer->get_future();
    client_->command(
        args, [answer](core::Result<core::RedisReply> r) { answer->set_value(std::move(r)); });
    core::Result<core::RedisReply> r = future.get();
    if (!r) throw std::runtime_error(r.error().message);
    if (r->is_nil()) return std::nullopt;
    if (r->type == core::RedisReply::Type::kInteger) return std::to_string(r->integer);
    return r->text().value_or("");
  }

 private:
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unique_ptr<core::RedisClient> client_;
};

// `INFO commandstats` as command -> calls (the INFO calls themselves left out).
std::map<std::string, double> command_calls(RedisConn& redis) {
  std::map<std::string, double> out;
  std::istringstream in(redis.command({"INFO", "commandstats"}).value_or(""));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cmdstat_", 0) != 0) continue;
    const auto colon = line.find(':');
    const auto calls = line.find("calls=");
    if (colon == std::string::npos || calls == std::string::npos) continue;
    const std::string name = line.substr(8, colon - 8);
    if (name == "info") continue;
    out[name] = std::stod(line.substr(calls + 6));
  }
  return out;
}

// Redis's own CPU (user + system) so far, ms.
double redis_cpu_ms(RedisConn& redis) {
  std::istringstream in(redis.command({"INFO", "cpu"}).value_or(""));
  std::string line;
  double s = 0;
  while (std::getline(in, line)) {
    for (const char* key : {"used_cpu_sys:", "used_cpu_user:"}) {
      if (line.rfind(key, 0) == 0) s += std::stod(line.substr(std::string(key).size()));
    }
  }
  return s * 1000.0;
}

std::string lease_key(const std::string& prefix, std::int64_t job_id) {
  return prefix + ":job:{biz:1:" + std::to_string(job_id) + "}:lease";
}

// The lease holder's replica id ("jobgw-1#7" -> "jobgw-1"), empty when nobody holds it.
std::string lease_holder(RedisConn& redis, const std::string& prefix, std::int64_t job_id,
                         std::string* token = nullptr) {
  auto v = redis.command({"GET", lease_key(prefix, job_id)});
  if (!v) return {};
  if (token) *token = *v;
  return v->substr(0, v->rfind('#'));
}

int index_of(const std::vector<std::string>& ids, const std::string& id) {
  auto it = std::find(ids.begin(), ids.end(), id);
  return it == ids.end() ? -1 : static_cast<int>(it - ids.begin());
}

// Waits (up to 5 s) for the job's lease to appear; the holder's index, -1 when none.
int wait_owner(RedisConn& redis, const ReplicasOptions& o, std::int64_t job_id) {
  const auto until = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < until) {
    std::string holder = lease_holder(redis, o.redis_prefix, job_id);
    if (!holder.empty()) return index_of(o.replica_ids, holder);
    std::this_thread::sleep_for(milliseconds(10));
  }
  return -1;
}

// ---- Prometheus text -------------------------------------------------------------------------

std::string scrape(int port) {
  if (port <= 0) return {};
  HttpConn conn(port);
  HttpResult r = conn.get("/metrics");
  return r.ok() ? r.body : std::string();
}

// Cumulative buckets of histogram `name`: upper bound (+Inf as infinity) -> count.
std::map<double, double> buckets(const std::string& text, const std::string& name) {
  std::map<double, double> out;
  std::istringstream in(text);
  std::string line;
  const std::string prefix = name + "_bucket{le=\"";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    const auto end = line.find('"', prefix.size());
    const auto space = line.rfind(' ');
    if (end == std::string::npos || space == std::string::npos) continue;
    const std::string le = line.substr(prefix.size(), end - prefix.size());
    const double bound = le == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(le);
    out[bound] += std::stod(line.substr(space + 1));
  }
  return out;
}

// Prometheus's histogram_quantile: linear within the bucket the rank falls in; the last finite
// bound when it falls in +Inf.
double bucket_quantile(const std::map<double, double>& cumulative, double q) {
  if (cumulative.empty() || cumulative.rbegin()->second <= 0) return 0;
  const double rank = q * cumulative.rbegin()->second;
  double prev_le = 0, prev_count = 0;
  for (const auto& [le, count] : cumulative) {
    if (count >= rank) {
      if (std::isinf(le)) return prev_le;
      if (count == prev_count) return le;
      return prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count);
    }
    prev_le = le;
    prev_count = count;
  }
  return prev_le;
}

// ---- streams that keep every event -------------------------------------------------------------

struct Received {
  std::uint64_t seq = 0;
  v1::EventKind kind = v1::EVENT_KIND_UNSPECIFIED;
  std::int64_t observed_ms = 0;  // jobgw's observed_at_ms
  std::int64_t recv_ms = 0;      // Unix ms, this process
  double recv_us = 0;            // steady clock, µs: for differences between streams
};

double steady_us() {
  return std::chrono::duration<double, std::micro>(Clock::now().time_since_epoch()).count();
}

class RecordingStream : public grpc::ClientReadReactor<v1::StatusEvent> {
 public:
  RecordingStream(v1::JobGateway::Stub* stub, int replica, std::int64_t job_id,
                  std::chrono::system_clock::time_point deadline, std::function<void()> on_done)
      : replica_(replica), on_done_(std::move(on_done)) {
    start_watch(this, stub, context_, request_, event_, job_id, deadline);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    Received r;
    r.recv_us = steady_us();
    r.recv_ms = unix_ms();
    r.seq = event_.seq();
    r.kind = event_.kind();
    r.observed_ms = event_.observed_at_ms();
    events_.push_back(r);
    if (event_.kind() == v1::EVENT_KIND_FINISHED) {
      finished_ = true;
      end_time_ms_ = event_.snapshot().end_time_ms();
    }
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    status_ = status;
    on_done_();
  }

  // Valid once done.
  int replica() const { return replica_; }
  bool finished() const { return finished_ && status_.ok(); }
  std::int64_t end_time_ms() const { return end_time_ms_; }
  const std::vector<Received>& events() const { return events_; }
  const grpc::Status& status() const { return status_; }

 private:
  grpc::ClientContext context_;
  v1::WatchStatusRequest request_;
  v1::StatusEvent event_;
  int replica_;
  std::function<void()> on_done_;
  grpc::Status status_;
  std::vector<Received> events_;
  bool finished_ = false;
  std::int64_t end_time_ms_ = 0;
};

class RecordingSet {
 public:
  RecordingStream& open(v1::JobGateway::Stub* stub, int replica, std::int64_t job_id,
                        std::chrono::system_clock::time_point deadline) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++open_;
    }
    streams_.push_back(std::make_unique<RecordingStream>(stub, replica, job_id, deadline, [this] {
      std::lock_guard<std::mutex> lock(mu_);
      if (--open_ == 0) cv_.notify_all();
    }));
    return *streams_.back();
  }
  void wait_all() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_ == 0; });
  }
  const std::vector<std::unique_ptr<RecordingStream>>& streams() const { return streams_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int open_ = 0;
  std::vector<std::unique_ptr<RecordingStream>> streams_;
};

// ---- shared helpers ------------------------------------------------------------------------

struct Gateways {
  std::vector<std::vector<std::unique_ptr<v1::JobGateway::Stub>>> stubs;  // [replica][channel]
  int replicas() const { return static_cast<int>(stubs.size()); }
  v1::JobGateway::Stub* stub(int replica, int channel = 0) {
    auto& s = stubs[static_cast<std::size_t>(replica)];
    return s[static_cast<std::size_t>(channel) % s.size()].get();
  }
};

Gateways connect(const ReplicasOptions& o, int channels_per_replica) {
  Gateways g;
  for (const auto& address : o.grpc) g.stubs.push_back(make_stubs(address, channels_per_replica));
  return g;
}

std::int64_t reads_of(const nlohmann::json& stats, std::int64_t job_id) {
  if (!stats.is_object() || !stats.contains("status_reads")) return 0;
  return stats["status_reads"].value(std::to_string(job_id), std::int64_t{0});
}

nlohmann::json summary(std::vector<double> samples) {
  Percentiles p = percentiles(std::move(samples));
  return {{"p50", p.p50}, {"p95", p.p95}, {"p99", p.p99}, {"max", p.max}};
}

nlohmann::json base_row(const ReplicasOptions& o) {
  return {{"scenario", "replicas"},
          {"part", o.part},
          {"replicas", static_cast<int>(o.grpc.size())},
          {"redis", o.redis_port > 0}};
}

std::vector<double> reads_by_replica(const ReplicasOptions& o) {
  std::vector<double> out;
  // Successful status reads of JOB: the replica that polls a job makes them.
  const std::string reads =
      "jobgw_job_http_attempts_total{api=\"get_job_instance_status\",outcome=\"2xx\"}";
  for (int port : o.metrics_ports) out.push_back(metric_value(scrape(port), reads));
  return out;
}

// Every replica's Redis connection up (jobgw_redis_up 1), within 15 s: a job submitted through a
// replica still connecting would have no lease.
void wait_redis_up(const ReplicasOptions& o) {
  if (o.redis_port <= 0) return;
  const auto until = Clock::now() + std::chrono::seconds(15);
  for (int port : o.metrics_ports) {
    while (metric_sum(scrape(port), "jobgw_redis_up") < 1) {
      if (Clock::now() > until) {
        throw std::runtime_error("jobgw on metrics port " + std::to_string(port) +
                                 ": Redis not up after 15 s");
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
}

// ---- fanin -----------------------------------------------------------------------------------

nlohmann::json part_fanin(const ReplicasOptions& o) {
  const auto hosts = host_range(o.hosts);
  const int r_count = static_cast<int>(o.grpc.size());
  const int per_replica = (o.k + r_count - 1) / r_count;
  const int channels = std::clamp((per_replica + 99) / 100, 1, 16);
  Gateways gw = connect(o, channels);
  std::unique_ptr<RedisConn> redis;
  if (o.redis_port > 0) redis = std::make_unique<RedisConn>(o.redis_port);

  const auto reads_before = reads_by_replica(o);
  const auto start = Clock::now();
  const v1::JobRef ref = submit_through_gateway(*gw.stub(0), hosts, kScript, "replicas-fanin");
  const std::int64_t job_id = ref.job_instance_id();
  const int owner = redis ? wait_owner(*redis, o, job_id) : 0;
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(o.timeout_s);
  StreamSet watchers;
  for (int i = 0; i < o.k; ++i) watchers.open(gw.stub(i % r_count, i / r_count), job_id, deadline);
  watchers.wait_all();
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::this_thread::sleep_for(milliseconds(o.settle_ms));
  const nlohmann::json after = jobsim_stats(o.jobsim_port);
  const auto reads_after = reads_by_replica(o);

  int done = 0, errors = 0;
  std::int64_t job_ms = 0;
  std::vector<double> lags;
  for (const auto& w : watchers.streams()) {
    if (!w->finished()) {
      ++errors;
      continue;
    }
    ++done;
    job_ms = w->job_ms();
    lags.push_back(static_cast<double>(w->seen().finished_ms - w->end_time_ms()));
  }
  nlohmann::json by_replica = nlohmann::json::array();
  for (std::size_t i = 0; i < reads_after.size() && i < reads_before.size(); ++i) {
    by_replica.push_back(reads_after[i] - reads_before[i]);
  }
  Percentiles lag = percentiles(lags);
  nlohmann::json out = base_row(o);
  out.update({{"k", o.k},
              {"hosts", o.hosts},
              {"job_instance_id", job_id},
              {"job_ms", job_ms},
              {"owner", owner},
              {"status_reads", reads_of(after, job_id)},
              {"reads_by_replica", by_replica},
              {"notice_lag_ms_p50", lag.p50},
              {"notice_lag_ms_max", lag.max},
              {"callers_done", done},
              {"errors", errors},
              {"channels_per_replica", channels},
              {"wall_s", wall_s}});
  if (errors > 0) {
    for (const auto& w : watchers.streams()) {
      if (!w->status().ok()) {
        out["first_error"] = w->status().error_message();
        break;
      }
    }
  }
  return out;
}

// ---- failover --------------------------------------------------------------------------------

nlohmann::json part_failover(const ReplicasOptions& o) {
  if (o.redis_port <= 0 || o.jobgw_pids.size() != o.grpc.size()) {
    throw std::runtime_error("failover needs --redis-port and one --jobgw-pids entry per replica");
  }
  const auto hosts = host_range(o.hosts);
  const int r_count = static_cast<int>(o.grpc.size());
  Gateways gw = connect(o, 1);
  RedisConn redis(o.redis_port);

  const int submitter = o.round % r_count;
  const auto submitted = Clock::now();
  const v1::JobRef ref =
      submit_through_gateway(*gw.stub(submitter), hosts, kScript, "replicas-failover");
  const std::int64_t job_id = ref.job_instance_id();
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(o.timeout_s);
  RecordingSet watchers;
  for (int r = 0; r < r_count; ++r) watchers.open(gw.stub(r), r, job_id, deadline);

  wait_owner(redis, o, job_id);
  std::this_thread::sleep_until(submitted + milliseconds(o.kill_after_ms));
  const std::int64_t reads_at_kill = reads_of(jobsim_stats(o.jobsim_port), job_id);
  // Who holds the lease and for how much longer, right before the kill.
  std::string token;
  const int owner = index_of(o.replica_ids, lease_holder(redis, o.redis_prefix, job_id, &token));
  if (owner < 0) throw std::runtime_error("no lease holder for job " + std::to_string(job_id));
  const long long ttl_left =
      std::stoll(redis.command({"PTTL", lease_key(o.redis_prefix, job_id)}).value_or("-2"));
  const auto killed = Clock::now();
  const int pid = o.jobgw_pids[static_cast<std::size_t>(owner)];
  if (::kill(pid, SIGKILL) != 0) throw std::runtime_error("kill failed");

  // A read the dead owner sent just before the kill may still be counted: whatever arrives in
  // the first 300 ms is its (the lease runs at least 4 s more, so nobody else reads then).
  std::optional<std::int64_t> baseline;
  double first_read_ms = -1, lease_ms = -1;
  int adopter = -1;
  std::int64_t inflight = 0;
  const auto give_up = killed + std::chrono::seconds(30);
  auto ms_since_kill = [&killed] {
    return std::chrono::duration<double, std::milli>(Clock::now() - killed).count();
  };
  while (Clock::now() < give_up && (first_read_ms < 0 || lease_ms < 0)) {
    const auto now = Clock::now();
    if (lease_ms < 0) {
      std::string t;
      std::string holder = lease_holder(redis, o.redis_prefix, job_id, &t);
      if (!holder.empty() && t != token) {
        lease_ms = ms_since_kill();
        adopter = index_of(o.replica_ids, holder);
      }
    }
    if (first_read_ms < 0) {
      const std::int64_t reads = reads_of(jobsim_stats(o.jobsim_port), job_id);
      const double since = ms_since_kill();
      if (!baseline) {
        if (since >= 300) {
          baseline = reads;
          inflight = reads - reads_at_kill;
        }
      } else if (reads > *baseline) {
        first_read_ms = since;
      }
    }
    std::this_thread::sleep_until(now + milliseconds(10));
  }

  // The survivors' streams follow the job to its end; the dead owner's stream failed.
  watchers.wait_all();
  int survivors = 0, finished = 0, errors = 0;
  std::vector<double> finish_lags;
  for (const auto& w : watchers.streams()) {
    if (w->replica() == owner) continue;
    ++survivors;
    if (w->finished()) {
      ++finished;
      finish_lags.push_back(static_cast<double>(w->events().back().recv_ms - w->end_time_ms()));
    } else {
      ++errors;
    }
  }
  if (first_read_ms < 0 || lease_ms < 0) ++errors;
  // Every read of the job, the dead owner's and the adopter's: two pollers would show here.
  const std::int64_t total_reads = reads_of(jobsim_stats(o.jobsim_port), job_id);
  nlohmann::json out = base_row(o);
  out.update({{"round", o.round},
              {"job_instance_id", job_id},
              {"submitted_through", submitter},
              {"owner", owner},
              {"killed_pid", pid},
              {"adopter", adopter},
              {"kill_after_submit_ms", o.kill_after_ms},
              {"lease_ttl_left_ms", ttl_left},
              {"kill_to_lease_ms", lease_ms},
              {"kill_to_first_read_ms", first_read_ms},
              {"inflight_reads", inflight},
              {"status_reads", total_reads},
              {"status_reads_before_kill", reads_at_kill},
              {"survivor_watchers", survivors},
              {"survivors_finished", finished},
              {"finish_lag_ms_max", summary(finish_lags)["max"]},
              {"errors", errors}});
  return out;
}

// ---- Redis commands per job --------------------------------------------------------------------

nlohmann::json part_redis(const ReplicasOptions& o) {
  if (o.redis_port <= 0) throw std::runtime_error("redis needs --redis-port");
  const auto hosts = host_range(o.hosts);
  const int r_count = static_cast<int>(o.grpc.size());
  Gateways gw = connect(o, 1);
  RedisConn redis(o.redis_port);

  // What the replicas ask of Redis with nothing to do (scans, pings), per second.
  auto idle_before = command_calls(redis);
  const double idle_cpu_before = redis_cpu_ms(redis);
  const auto idle_start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.idle_seconds));
  auto before = command_calls(redis);
  const double cpu_before = redis_cpu_ms(redis);
  const auto start = Clock::now();
  const double idle_s = std::chrono::duration<double>(start - idle_start).count();

  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(o.timeout_s);
  StreamSet watchers;
  std::vector<std::int64_t> job_ids;
  int errors = 0;
  for (int i = 0; i < o.jobs; ++i) {
    std::this_thread::sleep_until(
        start + milliseconds(static_cast<std::int64_t>(i * 1000.0 / o.jobs_per_second)));
    try {
      // Job i through replica i mod R, its watcher on replica (i / R) mod R: every pairing
      // equally often, a third of the watchers on the owner.
      const v1::JobRef ref =
          submit_through_gateway(*gw.stub(i % r_count), hosts, kScript, "replicas-redis");
      job_ids.push_back(ref.job_instance_id());
      watchers.open(gw.stub((i / r_count) % r_count), ref.job_instance_id(), deadline);
    } catch (const std::exception&) {
      ++errors;
    }
  }
  watchers.wait_all();
  std::this_thread::sleep_for(milliseconds(o.settle_ms));
  auto after = command_calls(redis);
  const double cpu_after = redis_cpu_ms(redis);
  const double window_s = std::chrono::duration<double>(Clock::now() - start).count();
  const nlohmann::json stats = jobsim_stats(o.jobsim_port);

  int done = 0, events = 0;
  for (const auto& w : watchers.streams()) {
    if (w->finished()) {
      ++done;
    } else {
      ++errors;
    }
    events += w->events();
  }
  std::int64_t reads = 0;
  for (auto id : job_ids) reads += reads_of(stats, id);

  const double n = std::max(1, o.jobs);
  nlohmann::json per_job = nlohmann::json::object();
  nlohmann::json raw = nlohmann::json::object();
  nlohmann::json idle = nlohmann::json::object();
  double total = 0, total_raw = 0, idle_total = 0;
  for (const auto& [name, calls] : after) {
    const double delta = calls - (before.count(name) ? before[name] : 0.0);
    const double idle_rate = ((before.count(name) ? before[name] : 0.0) -
                              (idle_before.count(name) ? idle_before[name] : 0.0)) /
                             std::max(idle_s, 1e-3);
    const double net = (delta - idle_rate * window_s) / n;
    per_job[name] = net;
    raw[name] = delta / n;
    idle[name] = idle_rate;
    total += net;
    total_raw += delta / n;
    idle_total += idle_rate;
  }
  const double idle_cpu_rate = (cpu_before - idle_cpu_before) / std::max(idle_s, 1e-3);
  nlohmann::json out = base_row(o);
  out.update({{"jobs", o.jobs},
              {"hosts", o.hosts},
              {"jobs_per_second", o.jobs_per_second},
              {"window_s", window_s},
              {"idle_s", idle_s},
              {"idle_calls_per_s", idle_total},
              {"idle_calls_per_s_by_command", idle},
              {"calls_per_job", total},
              {"calls_per_job_raw", total_raw},
              {"calls_per_job_by_command", per_job},
              {"calls_per_job_raw_by_command", raw},
              {"redis_cpu_ms_per_job", ((cpu_after - cpu_before) - idle_cpu_rate * window_s) / n},
              {"redis_idle_cpu_ms_per_s", idle_cpu_rate},
              {"status_reads_per_job", static_cast<double>(reads) / n},
              {"events_per_job", static_cast<double>(events) / n},
              {"callers_done", done},
              {"errors", errors}});
  return out;
}

// ---- fan-out across replicas -------------------------------------------------------------------

nlohmann::json part_fanout(const ReplicasOptions& o) {
  if ((o.redis_port > 0) != (o.grpc.size() > 1)) {
    throw std::runtime_error("fanout: several replicas with --redis-port, or one jobgw without");
  }
  const auto hosts = host_range(o.hosts);
  const int r_count = static_cast<int>(o.grpc.size());
  Gateways gw = connect(o, 1);
  std::unique_ptr<RedisConn> redis;
  if (o.redis_port > 0) redis = std::make_unique<RedisConn>(o.redis_port);
  const char* kLag = "jobgw_replica_fanout_lag_seconds";
  std::vector<std::map<double, double>> hist_before;
  for (int port : o.metrics_ports) hist_before.push_back(buckets(scrape(port), kLag));

  const v1::JobRef ref = submit_through_gateway(*gw.stub(0), hosts, kScript, "replicas-fanout");
  const std::int64_t job_id = ref.job_instance_id();
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(o.timeout_s);
  RecordingSet watchers;
  for (int r = 0; r < r_count; ++r) {
    for (int w = 0; w < o.watchers_per_replica; ++w) watchers.open(gw.stub(r), r, job_id, deadline);
  }
  const int owner = redis ? wait_owner(*redis, o, job_id) : 0;
  watchers.wait_all();
  std::this_thread::sleep_for(milliseconds(o.settle_ms));

  // Per seq, when the owner's watchers received it (mean over them).
  std::map<std::uint64_t, std::pair<double, int>> at_owner;
  std::vector<double> owner_fanout, other_fanout, added;
  std::map<std::string, int> kinds;  // of the first watcher on the owner
  const RecordingStream* first_owner_watcher = nullptr;
  int errors = 0;
  for (const auto& w : watchers.streams()) {
    if (!w->finished()) ++errors;
    if (w->replica() != owner) continue;
    for (const auto& e : w->events()) {
      if (e.kind == v1::EVENT_KIND_SNAPSHOT) continue;
      auto& slot = at_owner[e.seq];
      slot.first += e.recv_us;
      slot.second += 1;
      owner_fanout.push_back(static_cast<double>(e.recv_ms - e.observed_ms));
      if (first_owner_watcher == nullptr || first_owner_watcher == w.get()) {
        first_owner_watcher = w.get();
        kinds[v1::EventKind_Name(e.kind)] += 1;
      }
    }
  }
  for (const auto& w : watchers.streams()) {
    if (w->replica() == owner) continue;
    for (const auto& e : w->events()) {
      if (e.kind == v1::EVENT_KIND_SNAPSHOT) continue;
      other_fanout.push_back(static_cast<double>(e.recv_ms - e.observed_ms));
      auto it = at_owner.find(e.seq);
      if (it == at_owner.end()) continue;
      added.push_back((e.recv_us - it->second.first / it->second.second) / 1000.0);
    }
  }

  // The non-owners' histograms over this job.
  std::map<double, double> lag;
  std::vector<double> lag_counts;
  for (std::size_t i = 0; i < o.metrics_ports.size(); ++i) {
    auto now = buckets(scrape(o.metrics_ports[i]), kLag);
    double count = 0;
    for (const auto& [le, c] : now) {
      const double d = c - (i < hist_before.size() ? hist_before[i][le] : 0.0);
      if (static_cast<int>(i) != owner) lag[le] += d;
      if (std::isinf(le)) count = d;
    }
    lag_counts.push_back(count);
  }
  if (owner < 0) ++errors;
  nlohmann::json out = base_row(o);
  out.update({{"hosts", o.hosts},
              {"job_instance_id", job_id},
              {"owner", owner},
              {"watchers_per_replica", o.watchers_per_replica},
              {"events", static_cast<int>(at_owner.size())},
              {"events_by_kind", kinds},
              {"samples", static_cast<int>(added.size())},
              {"added_ms", summary(added)},
              {"owner_fanout_ms", summary(owner_fanout)},
              {"nonowner_fanout_ms", summary(other_fanout)},
              {"histogram_count_by_replica", lag_counts},
              {"histogram_nonowner",
               {{"count", lag.empty() ? 0.0 : lag.rbegin()->second},
                {"p50_ms", bucket_quantile(lag, 0.50) * 1000.0},
                {"p99_ms", bucket_quantile(lag, 0.99) * 1000.0},
                {"over_last_bound",
                 lag.size() >= 2 ? lag.rbegin()->second - std::next(lag.rbegin())->second : 0.0}}},
              {"errors", errors}});
  return out;
}

}  // namespace

nlohmann::json run_replicas(const ReplicasOptions& given) {
  ReplicasOptions o = given;
  if (o.grpc.empty()) throw std::runtime_error("--grpc: at least one address");
  for (std::size_t i = o.replica_ids.size(); i < o.grpc.size(); ++i) {
    o.replica_ids.push_back("jobgw-" + std::to_string(i + 1));
  }
  wait_redis_up(o);
  if (o.part == "fanin") return part_fanin(o);
  if (o.part == "failover") return part_failover(o);
  if (o.part == "redis") return part_redis(o);
  if (o.part == "fanout") return part_fanout(o);
  throw std::runtime_error("--part: fanin, failover, redis or fanout");
}

}  // namespace jobgw::bench
