#include "unary.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_http.h"
#include "bench_stats.h"
#include "jobgw/v1/job_gateway.grpc.pb.h"

namespace jobgw::bench {

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kScript = "echo unary";

struct Totals {
  std::vector<double> latencies_ms;
  std::int64_t ok = 0;
  std::int64_t errors = 0;
  std::int64_t calls = 0;  // every call, warm-up included
  double measured_s = 0;
  std::int64_t job_requests = 0;    // API requests jobsim received during the rounds
  std::int64_t endpoint_calls = 0;  // of which to the op's own endpoint
  std::string first_error;
  double client_cpu_ms = 0;  // this process
  double jobsim_cpu_ms = 0;
  double jobgw_cpu_ms = 0;
};

double own_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// CPU of the three processes at one moment.
struct CpuMark {
  double client = 0, jobsim = 0, jobgw = 0;
};

CpuMark cpu_mark(const UnaryOptions& o) {
  return {own_cpu_ms(), process_cpu_ms(o.jobsim_pid), process_cpu_ms(o.jobgw_pid)};
}

void add_cpu(Totals& t, const CpuMark& from, const CpuMark& to) {
  t.client_cpu_ms += to.client - from.client;
  t.jobsim_cpu_ms += to.jobsim - from.jobsim;
  t.jobgw_cpu_ms += to.jobgw - from.jobgw;
}

// A caller: sends one request, answers true when it succeeded.
using CallFn = std::function<bool(std::string& error)>;

// Runs `concurrency` callers made by `make_caller` for warm-up + measured time; adds to `totals`.
void run_round(const UnaryOptions& o, const std::function<CallFn(int)>& make_caller,
               Totals& totals) {
  std::vector<CallFn> callers;
  for (int i = 0; i < o.concurrency; ++i) callers.push_back(make_caller(i));
  std::mutex mu;
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> measured{0};
  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(o.warmup_seconds));
  const auto measure_to = measure_from + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.concurrency; ++i) {
    threads.emplace_back([&, i] {
      std::vector<double> local;
      std::int64_t ok = 0, errors = 0, calls = 0;
      std::string first_error;
      while (!stop) {
        auto t0 = Clock::now();
        if (t0 >= measure_to) break;
        std::string error;
        bool good = callers[i](error);
        auto t1 = Clock::now();
        ++calls;
        if (t0 < measure_from || t1 > measure_to) continue;
        if (good) {
          ++ok;
          local.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        } else {
          ++errors;
          if (first_error.empty()) first_error = error;
        }
        if (o.max_requests > 0 && ++measured >= o.max_requests) stop = true;
      }
      std::lock_guard<std::mutex> lock(mu);
      totals.latencies_ms.insert(totals.latencies_ms.end(), local.begin(), local.end());
      totals.ok += ok;
      totals.errors += errors;
      totals.calls += calls;
      if (totals.first_error.empty()) totals.first_error = first_error;
    });
  }
  for (auto& t : threads) t.join();
  // With a request cap the round may end early: measure to the last answer.
  auto end = std::min(Clock::now(), measure_to);
  totals.measured_s += std::chrono::duration<double>(end - measure_from).count();
}

nlohmann::json to_json(const UnaryOptions& o, const std::string& target, Totals t) {
  Percentiles p = percentiles(std::move(t.latencies_ms));
  nlohmann::json out = {
      {"scenario", "unary"},
      {"op", o.op},
      {"target", target},
      {"concurrency", o.concurrency},
      {"ok", t.ok},
      {"errors", t.errors},
      {"measured_s", t.measured_s},
      {"rps", t.measured_s > 0 ? static_cast<double>(t.ok) / t.measured_s : 0.0},
      {"p50_ms", p.p50},
      {"p95_ms", p.p95},
      {"p99_ms", p.p99},
      {"mean_ms", p.mean},
      {"job_requests_per_call",
       t.calls > 0 ? static_cast<double>(t.job_requests) / static_cast<double>(t.calls) : 0.0},
      {"job_endpoint_calls_per_call",
       t.calls > 0 ? static_cast<double>(t.endpoint_calls) / static_cast<double>(t.calls) : 0.0}};
  if (!t.first_error.empty()) out["first_error"] = t.first_error;
  // CPU per call, microseconds, warm-up included (as the calls are).
  auto per_call_us = [&](double ms) {
    return t.calls > 0 ? ms * 1000.0 / static_cast<double>(t.calls) : 0.0;
  };
  out["client_cpu_us_per_call"] = per_call_us(t.client_cpu_ms);
  if (o.jobsim_pid > 0) out["jobsim_cpu_us_per_call"] = per_call_us(t.jobsim_cpu_ms);
  if (o.jobgw_pid > 0) out["jobgw_cpu_us_per_call"] = per_call_us(t.jobgw_cpu_ms);
  return out;
}

// jobsim's API request counters: every endpoint, and the one endpoint the op calls.
struct Requests {
  std::int64_t all = 0;
  std::int64_t endpoint = 0;
};

Requests requests(int port, const std::string& endpoint) {
  Requests out;
  nlohmann::json s = jobsim_stats(port);
  if (!s.is_object()) return out;
  out.all = s.value("requests_total", std::int64_t{0});
  if (s.contains("requests") && s["requests"].contains(endpoint)) {
    out.endpoint = s["requests"][endpoint].get<std::int64_t>();
  }
  return out;
}

// A finished job to read: submitted straight to jobsim, polled until it ends.
std::int64_t finished_job(const UnaryOptions& o) {
  HttpConn conn(o.jobsim_port);
  std::string error;
  nlohmann::json ref =
      job_data(conn.post(job_path("fast_execute_script"),
                         script_submit_body(host_range(o.hosts), kScript, "unary-status")),
               &error);
  if (!ref.is_object()) throw std::runtime_error("submit to jobsim failed: " + error);
  std::int64_t job_id = ref["job_instance_id"].get<std::int64_t>();
  auto give_up = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < give_up) {
    nlohmann::json data = job_data(conn.get(status_target(job_id)));
    if (data.is_object() && data.value("finished", false)) return job_id;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("job " + std::to_string(job_id) + " did not finish in 60 s");
}

}  // namespace

nlohmann::json run_unary(const UnaryOptions& o) {
  if (o.op != "status" && o.op != "execute") throw std::runtime_error("op: status or execute");
  const std::int64_t job_id = o.op == "status" ? finished_job(o) : 0;
  const std::string submit_body = script_submit_body({101}, kScript, "unary-execute");

  // gRPC: one channel (one HTTP/2 connection) per 16 callers, as a service would share them.
  int n_channels = std::max(1, (o.concurrency + 15) / 16);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < n_channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("jobgw.bench.channel", i);
    channels.push_back(
        grpc::CreateCustomChannel(o.grpc_address, grpc::InsecureChannelCredentials(), args));
  }

  auto make_direct = [&](int) -> CallFn {
    auto conn = std::make_shared<HttpConn>(o.jobsim_port);
    if (o.op == "status") {
      std::string target = status_target(job_id);
      return [conn, target](std::string& error) {
        return job_data(conn->get(target), &error).is_object();
      };
    }
    std::string path = job_path("fast_execute_script");
    return [conn, path, submit_body](std::string& error) {
      return job_data(conn->post(path, submit_body), &error).is_object();
    };
  };
  auto make_gateway = [&](int i) -> CallFn {
    std::shared_ptr<v1::JobGateway::Stub> stub =
        v1::JobGateway::NewStub(channels[i % channels.size()]);
    auto call = [](std::string& error, const auto& invoke) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      grpc::Status s = invoke(ctx);
      if (!s.ok()) error = std::to_string(s.error_code()) + ": " + s.error_message();
      return s.ok();
    };
    if (o.op == "status") {
      v1::GetJobStatusRequest req;
      req.mutable_scope()->set_type("biz");
      req.mutable_scope()->set_id("1");
      req.set_job_instance_id(job_id);
      return [stub, req, call](std::string& error) {
        v1::JobSnapshot resp;
        return call(error,
                    [&](grpc::ClientContext& ctx) { return stub->GetJobStatus(&ctx, req, &resp); });
      };
    }
    v1::ExecuteScriptRequest req;
    req.mutable_scope()->set_type("biz");
    req.mutable_scope()->set_id("1");
    req.set_script_content(kScript);
    req.set_script_language(v1::SCRIPT_LANGUAGE_SHELL);
    req.set_task_name("unary-execute");
    req.mutable_targets()->add_host_ids(101);
    return [stub, req, call](std::string& error) {
      v1::JobRef resp;
      return call(error,
                  [&](grpc::ClientContext& ctx) { return stub->ExecuteScript(&ctx, req, &resp); });
    };
  };

  const std::string endpoint = o.op == "status" ? "get_job_instance_status" : "fast_execute_script";
  Totals direct, gateway;
  for (int round = 0; round < std::max(1, o.rounds); ++round) {
    // jobsim's /jobsim/stats reads are not API requests: they do not count themselves. With
    // ExecuteScript, jobgw's pollers of the jobs it submitted may still read after its round.
    Requests r0 = requests(o.jobsim_port, endpoint);
    CpuMark c0 = cpu_mark(o);
    run_round(o, make_direct, direct);
    CpuMark c1 = cpu_mark(o);
    Requests r1 = requests(o.jobsim_port, endpoint);
    CpuMark c2 = cpu_mark(o);
    run_round(o, make_gateway, gateway);
    CpuMark c3 = cpu_mark(o);
    Requests r2 = requests(o.jobsim_port, endpoint);
    add_cpu(direct, c0, c1);
    add_cpu(gateway, c2, c3);
    direct.job_requests += r1.all - r0.all;
    direct.endpoint_calls += r1.endpoint - r0.endpoint;
    gateway.job_requests += r2.all - r1.all;
    gateway.endpoint_calls += r2.endpoint - r1.endpoint;
  }
  return nlohmann::json::array(
      {to_json(o, "direct", std::move(direct)), to_json(o, "jobgw", std::move(gateway))});
}

}  // namespace jobgw::bench
