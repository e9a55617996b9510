#include "bigjob.h"

#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>

#include "bench_grpc.h"
#include "bench_http.h"
#include "bench_stats.h"
#include "core/job/job_codec.h"

namespace jobgw::bench {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

nlohmann::json run_once(const BigJobOptions& o) {
  auto stubs = make_stubs(o.grpc_address, 1);
  const auto hosts = host_range(o.hosts);
  const std::int64_t rss_before = process_rss_kib(o.jobgw_pid);
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(o.timeout_s);
  const auto start = Clock::now();
  const v1::JobRef ref = submit_through_gateway(*stubs[0], hosts, "echo big", "big job");
  StreamSet set;
  WatchStream& watch = set.open(stubs[0].get(), ref.job_instance_id(), deadline);
  set.wait_all();
  const double job_wall_ms = ms_since(start);
  const std::int64_t rss_watched = process_rss_kib(o.jobgw_pid);

  // The codec jobgw runs on every poll, on this job's final status answer.
  HttpConn conn(o.jobsim_port);
  const HttpResult status = conn.get(status_target(ref.job_instance_id()));
  if (!status.ok()) throw std::runtime_error("status read from jobsim failed: " + status.error);
  double parse_ms = 0;
  std::size_t parsed_hosts = 0;
  for (int i = 0; i < o.parse_rounds; ++i) {
    const auto t = Clock::now();
    auto snapshot = core::JobCodec::decode_job_status(status.status, status.body);
    parse_ms += ms_since(t);
    if (!snapshot) throw std::runtime_error("decode failed: " + snapshot.error().message);
    parsed_hosts = snapshot.value().steps.empty() ? 0 : snapshot.value().steps[0].hosts.size();
  }

  // Every host's log through jobgw.
  v1::GetIpLogsRequest req;
  req.mutable_scope()->set_type("biz");
  req.mutable_scope()->set_id("1");
  req.set_job_instance_id(ref.job_instance_id());
  req.set_step_instance_id(ref.step_instance_id());
  for (auto id : hosts) req.add_host_ids(id);
  int pages = 0;
  std::int64_t log_bytes = 0;
  std::int64_t max_page_bytes = 0;
  int log_hosts = 0;  // distinct hosts across the pages
  int truncated_hosts = 0;
  std::string log_error;
  std::int64_t rss_peak = rss_watched;
  const auto logs_start = Clock::now();
  std::set<std::int64_t> seen_hosts;
  for (;;) {
    v1::GetIpLogsResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    grpc::Status s = stubs[0]->GetIpLogs(&ctx, req, &resp);
    rss_peak = std::max(rss_peak, process_rss_kib(o.jobgw_pid));
    if (!s.ok()) {
      log_error = s.error_message();
      break;
    }
    ++pages;
    const auto bytes = static_cast<std::int64_t>(resp.ByteSizeLong());
    log_bytes += bytes;
    max_page_bytes = std::max(max_page_bytes, bytes);
    for (const auto& log : resp.script_logs()) {
      if (seen_hosts.insert(log.host().host_id()).second) ++log_hosts;
      if (log.truncated()) ++truncated_hosts;
    }
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  const double logs_ms = ms_since(logs_start);
  std::this_thread::sleep_for(std::chrono::milliseconds(o.settle_ms));
  const std::int64_t rss_after = process_rss_kib(o.jobgw_pid);

  nlohmann::json out = {{"scenario", "bigjob"},
                        {"hosts", o.hosts},
                        {"job_ms", watch.job_ms()},
                        {"job_wall_ms", job_wall_ms},
                        {"finished", watch.finished()},
                        {"status_json_bytes", status.body.size()},
                        {"parse_ms", parse_ms / o.parse_rounds},
                        {"parsed_hosts", parsed_hosts},
                        {"events", watch.events()},
                        {"event_bytes", watch.event_bytes()},
                        {"max_event_bytes", watch.max_event_bytes()},
                        {"log_pages", pages},
                        {"log_hosts", log_hosts},
                        {"truncated_hosts", truncated_hosts},
                        {"log_bytes", log_bytes},
                        {"max_page_bytes", max_page_bytes},
                        {"logs_ms", logs_ms},
                        {"rss_before_kib", rss_before},
                        {"rss_watched_kib", rss_watched},
                        {"rss_peak_kib", rss_peak},
                        {"rss_after_kib", rss_after},
                        {"errors", (watch.finished() ? 0 : 1) + (log_error.empty() ? 0 : 1) +
                                       (log_hosts == o.hosts ? 0 : 1)}};
  if (!log_error.empty()) out["log_error"] = log_error;
  return out;
}

}  // namespace

nlohmann::json run_bigjob(const BigJobOptions& o) {
  // The first round warms jobgw up (connection buffers, allocator arenas); the later ones show
  // whether a big job leaves memory behind.
  nlohmann::json first = run_once(o);
  nlohmann::json rss_after_rounds = nlohmann::json::array({first["rss_after_kib"]});
  int errors = first["errors"].get<int>();
  for (int round = 1; round < o.rounds; ++round) {
    nlohmann::json again = run_once(o);
    rss_after_rounds.push_back(again["rss_after_kib"]);
    errors += again["errors"].get<int>();
  }
  first["rounds"] = o.rounds;
  first["rss_after_rounds_kib"] = rss_after_rounds;
  // Growth is counted from the second round on: the first one pays for the warm-up.
  const std::size_t from = o.rounds >= 3 ? 1 : 0;
  const std::size_t last = rss_after_rounds.size() - 1;
  first["rss_growth_per_round_kib"] =
      last > from ? (rss_after_rounds[last].get<double>() - rss_after_rounds[from].get<double>()) /
                        static_cast<double>(last - from)
                  : 0.0;
  first["errors"] = errors;
  return first;
}

}  // namespace jobgw::bench
