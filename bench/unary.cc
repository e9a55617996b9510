#include "unary.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_grpc.h"
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
  double floor_cpu_ms = 0;
  std::int64_t jobsim_switches = 0;  // context switches, voluntary + involuntary, every thread
  std::int64_t jobgw_switches = 0;
  std::int64_t floor_switches = 0;
  std::size_t answer_bytes = 0;  // serialized size of the last answer (gRPC targets)
};

double own_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// CPU (and context switches) of the processes at one moment.
struct CpuMark {
  double client = 0, jobsim = 0, jobgw = 0, floor = 0;
  std::int64_t jobsim_switches = 0, jobgw_switches = 0, floor_switches = 0;
};

CpuMark cpu_mark(const UnaryOptions& o) {
  return {own_cpu_ms(),
          process_cpu_ms(o.jobsim_pid),
          process_cpu_ms(o.jobgw_pid),
          process_cpu_ms(o.floor_pid),
          process_context_switches(o.jobsim_pid),
          process_context_switches(o.jobgw_pid),
          process_context_switches(o.floor_pid)};
}

void add_cpu(Totals& t, const CpuMark& from, const CpuMark& to) {
  t.client_cpu_ms += to.client - from.client;
  t.jobsim_cpu_ms += to.jobsim - from.jobsim;
  t.jobgw_cpu_ms += to.jobgw - from.jobgw;
  t.floor_cpu_ms += to.floor - from.floor;
  t.jobsim_switches += to.jobsim_switches - from.jobsim_switches;
  t.jobgw_switches += to.jobgw_switches - from.jobgw_switches;
  t.floor_switches += to.floor_switches - from.floor_switches;
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
      {"calls", t.calls},
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
  if (o.floor_pid > 0) out["floor_cpu_us_per_call"] = per_call_us(t.floor_cpu_ms);
  auto per_call = [&](std::int64_t n) {
    return t.calls > 0 ? static_cast<double>(n) / static_cast<double>(t.calls) : 0.0;
  };
  if (o.jobsim_pid > 0) out["jobsim_switches_per_call"] = per_call(t.jobsim_switches);
  if (o.jobgw_pid > 0) out["jobgw_switches_per_call"] = per_call(t.jobgw_switches);
  if (o.floor_pid > 0) out["floor_switches_per_call"] = per_call(t.floor_switches);
  if (t.answer_bytes > 0) out["answer_bytes"] = t.answer_bytes;
  return out;
}

// jobgw's throughput over the direct calls' (the same op and concurrency), on jobgw's row.
void add_ratio(const nlohmann::json& direct, nlohmann::json& jobgw) {
  const double direct_rps = direct.value("rps", 0.0);
  jobgw["rps_ratio_to_direct"] = direct_rps > 0 ? jobgw.value("rps", 0.0) / direct_rps : 0.0;
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

// gRPC: one channel (one HTTP/2 connection) per 16 callers, as a service would share them.
std::vector<std::shared_ptr<grpc::Channel>> caller_channels(const UnaryOptions& o,
                                                            const std::string& address) {
  const int n = std::max(1, (o.concurrency + 15) / 16);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("jobgw.bench.channel", i);
    channels.push_back(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

std::vector<std::shared_ptr<grpc::Channel>> caller_channels(const UnaryOptions& o) {
  return caller_channels(o, o.grpc_address);
}

struct Targets {
  bool direct = false, jobgw = false, floor = false;
};

Targets targets_of(const UnaryOptions& o) {
  Targets t;
  if (o.targets.empty()) {
    t.direct = t.jobgw = true;
    t.floor = !o.floor_address.empty();
    return t;
  }
  std::stringstream in(o.targets);
  std::string name;
  while (std::getline(in, name, ',')) {
    if (name == "direct") {
      t.direct = true;
    } else if (name == "jobgw") {
      t.jobgw = true;
    } else if (name == "floor") {
      t.floor = true;
    } else {
      throw std::runtime_error("--targets: direct, jobgw, floor");
    }
  }
  return t;
}

}  // namespace

nlohmann::json run_unary(const UnaryOptions& o) {
  if (o.op != "status" && o.op != "execute") throw std::runtime_error("op: status or execute");
  const Targets targets = targets_of(o);
  if (targets.floor && (o.op != "status" || o.floor_address.empty())) {
    throw std::runtime_error("the floor answers GetJobStatus only: --op status with --floor");
  }
  if ((targets.direct || targets.jobgw) && o.jobsim_port <= 0) {
    throw std::runtime_error("direct and jobgw need --jobsim-port");
  }
  if (targets.jobgw && o.grpc_address.empty()) throw std::runtime_error("jobgw needs --grpc");
  // The floor answers any job id; the job is only needed where jobsim is asked.
  const bool needs_job = o.op == "status" && (targets.direct || targets.jobgw);
  const std::int64_t job_id = needs_job ? finished_job(o) : 10001;
  const std::string submit_body = script_submit_body({101}, kScript, "unary-execute");

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  if (targets.jobgw) channels = caller_channels(o);
  std::vector<std::shared_ptr<grpc::Channel>> floor_channels;
  if (targets.floor) floor_channels = caller_channels(o, o.floor_address);
  auto answer_bytes = std::make_shared<std::atomic<std::size_t>>(0);

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
  auto make_grpc = [&](const std::vector<std::shared_ptr<grpc::Channel>>& over, int i) -> CallFn {
    std::shared_ptr<v1::JobGateway::Stub> stub = v1::JobGateway::NewStub(over[i % over.size()]);
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
      return [stub, req, call, answer_bytes](std::string& error) {
        v1::JobSnapshot resp;
        const bool ok = call(
            error, [&](grpc::ClientContext& ctx) { return stub->GetJobStatus(&ctx, req, &resp); });
        if (ok) answer_bytes->store(resp.ByteSizeLong(), std::memory_order_relaxed);
        return ok;
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
  auto make_gateway = [&](int i) { return make_grpc(channels, i); };
  auto make_floor = [&](int i) { return make_grpc(floor_channels, i); };

  const std::string endpoint = o.op == "status" ? "get_job_instance_status" : "fast_execute_script";
  // One round of one target: its CPU, switches, JOB requests and answer size go to its totals.
  // jobsim's /jobsim/stats reads are not API requests: they do not count themselves. With
  // ExecuteScript, jobgw's pollers of the jobs it submitted may still read after its round.
  auto measure = [&](const std::function<CallFn(int)>& make, Totals& totals) {
    const bool asks_jobsim = o.jobsim_port > 0;
    Requests r0 = asks_jobsim ? requests(o.jobsim_port, endpoint) : Requests{};
    answer_bytes->store(0);
    CpuMark c0 = cpu_mark(o);
    run_round(o, make, totals);
    CpuMark c1 = cpu_mark(o);
    Requests r1 = asks_jobsim ? requests(o.jobsim_port, endpoint) : Requests{};
    add_cpu(totals, c0, c1);
    totals.job_requests += r1.all - r0.all;
    totals.endpoint_calls += r1.endpoint - r0.endpoint;
    totals.answer_bytes = std::max(totals.answer_bytes, answer_bytes->load());
  };
  Totals direct, gateway, floor;
  for (int round = 0; round < std::max(1, o.rounds); ++round) {
    if (targets.direct) measure(make_direct, direct);
    if (targets.jobgw) measure(make_gateway, gateway);
    if (targets.floor) measure(make_floor, floor);
  }
  nlohmann::json rows = nlohmann::json::array();
  nlohmann::json direct_row;
  if (targets.direct) direct_row = to_json(o, "direct", std::move(direct));
  if (targets.jobgw) {
    nlohmann::json jobgw_row = to_json(o, "jobgw", std::move(gateway));
    if (targets.direct) add_ratio(direct_row, jobgw_row);
    if (targets.direct) rows.push_back(direct_row);
    rows.push_back(std::move(jobgw_row));
  } else if (targets.direct) {
    rows.push_back(direct_row);
  }
  if (targets.floor) rows.push_back(to_json(o, "floor", std::move(floor)));
  return rows;
}

namespace {

std::int64_t status_reads_of(int port, std::int64_t job_id) {
  nlohmann::json s = jobsim_stats(port);
  if (!s.is_object() || !s.contains("status_reads")) return 0;
  return s["status_reads"].value(std::to_string(job_id), std::int64_t{0});
}

}  // namespace

nlohmann::json run_unary_watched(const UnaryOptions& o) {
  // The job runs as long as jobsim's synthetic range says (run.sh: far longer than the rounds);
  // the stream keeps jobgw's watch of it, a subscriber's, through every round.
  auto stubs = make_stubs(o.grpc_address, 1);
  const std::int64_t job_id =
      submit_through_gateway(*stubs[0], host_range(o.hosts), kScript, "unary-watched")
          .job_instance_id();
  StreamSet stream;
  stream.open(stubs[0].get(), job_id, std::chrono::system_clock::now() + std::chrono::hours(1));
  const auto give_up = Clock::now() + std::chrono::seconds(30);
  while (stream.started() == 0 && Clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (stream.started() == 0) throw std::runtime_error("the watch of the job sent no event");

  std::vector<std::shared_ptr<grpc::Channel>> channels = caller_channels(o);
  const std::string target = status_target(job_id);
  auto make_direct = [&](int) -> CallFn {
    auto conn = std::make_shared<HttpConn>(o.jobsim_port);
    return [conn, target](std::string& error) {
      return job_data(conn->get(target), &error).is_object();
    };
  };
  v1::GetJobStatusRequest req;
  req.mutable_scope()->set_type("biz");
  req.mutable_scope()->set_id("1");
  req.set_job_instance_id(job_id);
  auto make_gateway = [&](int i) -> CallFn {
    std::shared_ptr<v1::JobGateway::Stub> stub =
        v1::JobGateway::NewStub(channels[i % channels.size()]);
    return [stub, req](std::string& error) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      v1::JobSnapshot resp;
      const grpc::Status s = stub->GetJobStatus(&ctx, req, &resp);
      if (!s.ok()) error = std::to_string(s.error_code()) + ": " + s.error_message();
      return s.ok();
    };
  };

  Totals direct, gateway;
  std::int64_t watch_reads_direct = 0;  // the watch's own reads while the direct calls ran
  for (int round = 0; round < std::max(1, o.rounds); ++round) {
    const std::int64_t r0 = status_reads_of(o.jobsim_port, job_id);
    const std::int64_t calls0 = direct.calls;
    CpuMark c0 = cpu_mark(o);
    run_round(o, make_direct, direct);
    CpuMark c1 = cpu_mark(o);
    const std::int64_t r1 = status_reads_of(o.jobsim_port, job_id);
    CpuMark c2 = cpu_mark(o);
    run_round(o, make_gateway, gateway);
    CpuMark c3 = cpu_mark(o);
    const std::int64_t r2 = status_reads_of(o.jobsim_port, job_id);
    add_cpu(direct, c0, c1);
    add_cpu(gateway, c2, c3);
    direct.job_requests += r1 - r0;
    direct.endpoint_calls += r1 - r0;
    gateway.job_requests += r2 - r1;
    gateway.endpoint_calls += r2 - r1;
    watch_reads_direct += std::max<std::int64_t>(0, (r1 - r0) - (direct.calls - calls0));
  }

  // Terminating the job ends the stream (FINISHED), so nothing outlives this run.
  {
    v1::TerminateJobRequest stop;
    stop.mutable_scope()->set_type("biz");
    stop.mutable_scope()->set_id("1");
    stop.set_job_instance_id(job_id);
    v1::TerminateJobResponse ignored;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    const grpc::Status s = stubs[0]->TerminateJob(&ctx, stop, &ignored);
    if (!s.ok()) throw std::runtime_error("terminating job failed: " + s.error_message());
  }
  stream.wait_all();

  const std::int64_t gateway_reads = gateway.job_requests;
  const std::int64_t gateway_calls = gateway.calls;
  nlohmann::json direct_row = to_json(o, "direct", std::move(direct));
  nlohmann::json jobgw_row = to_json(o, "jobgw", std::move(gateway));
  jobgw_row["job_instance_id"] = job_id;
  jobgw_row["job_reads_during_calls"] = gateway_reads;
  jobgw_row["watch_reads_during_direct"] = watch_reads_direct;
  jobgw_row["added_reads_per_call"] =
      gateway_calls > 0
          ? static_cast<double>(std::max<std::int64_t>(0, gateway_reads - watch_reads_direct)) /
                static_cast<double>(gateway_calls)
          : 0.0;
  jobgw_row["rounds"] = std::max(1, o.rounds);
  jobgw_row["stream_finished"] = stream.streams().front()->finished();
  return nlohmann::json::array({std::move(direct_row), std::move(jobgw_row)});
}

}  // namespace jobgw::bench
