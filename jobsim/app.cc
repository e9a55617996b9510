#include "jobsim/app.h"

#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "jobsim/callbacks.h"
#include "jobsim/clock.h"
#include "jobsim/faults.h"
#include "jobsim/http_server.h"
#include "jobsim/inventory.h"
#include "jobsim/job_api.h"
#include "jobsim/job_store.h"
#include "jobsim/plan.h"
#include "jobsim/plan_runner.h"
#include "jobsim/real_executor.h"
#include "jobsim/router.h"
#include "jobsim/sandbox.h"
#include "jobsim/stats.h"
#include "jobsim/synthetic_executor.h"

namespace jobsim {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

void write_port_file(const std::string& path, unsigned short port) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  fs::rename(tmp, path);
}

}  // namespace

int run_jobsim(const Config& config) {
  auto logger = spdlog::stderr_color_mt("jobsim");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  ::signal(SIGPIPE, SIG_IGN);

  std::string data_dir = config.data_dir;
  bool remove_data = false;
  try {
    if (data_dir.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/jobsim-XXXXXX";
      std::vector<char> buf(tmpl.begin(), tmpl.end());
      buf.push_back('\0');
      if (!::mkdtemp(buf.data())) throw std::runtime_error("cannot create a temp data dir");
      data_dir = buf.data();
      remove_data = !config.keep_data;
    } else {
      fs::create_directories(data_dir);
    }
  } catch (const std::exception& e) {
    spdlog::critical("event=startup_failed error=\"{}\"", e.what());
    return 1;
  }

  int rc = 0;
  try {
    Inventory inventory = !config.inventory.empty()
                              ? Inventory::from_file(config.inventory)
                              : Inventory::generate(config.hosts >= 0 ? config.hosts : 5);
    PlanCatalog plans = !config.inventory.empty() ? PlanCatalog::from_file(config.inventory)
                                                  : PlanCatalog::demo(inventory);
    Sandboxes sandboxes(data_dir);
    // Real hosts get their sandboxes up front (so files can be put there before a transfer);
    // synthetic ones never touch the disk.
    if (config.executor == "real") {
      for (auto& h : inventory.hosts()) sandboxes.ensure_host(h.host_id);
    }

    asio::io_context ioc;
    SystemClock clock;
    Stats stats;
    FaultInjector faults(config.seed);
    for (auto& spec : config.faults) faults.add(parse_fault_spec(spec));
    JobStore store(clock, config.keep_jobs, config.log_cap);
    CallbackSender callbacks(ioc, stats, {config.callback_retries, config.callback_retry_ms, 5000});
    store.set_finished_hook([&](const std::shared_ptr<Job>& job) {
      std::string body;
      {
        std::lock_guard<std::mutex> lock(job->mu);
        spdlog::info("event=job_finished job={} status={} duration_ms={}", job->id, job->status,
                     job->end_ms - job->start_ms);
        if (job->callback_url.empty()) return;
        body = CallbackSender::body_for(*job);
      }
      asio::post(ioc, [&callbacks, url = job->callback_url, body, id = job->id] {
        callbacks.send(url, body, id);
      });
    });

    std::unique_ptr<Executor> executor;
    if (config.executor == "synthetic") {
      executor = std::make_unique<SyntheticExecutor>(
          ioc, store,
          SyntheticOptions{config.synthetic_min_ms, config.synthetic_max_ms,
                           config.synthetic_fail_rate, config.seed, config.synthetic_log_bytes});
    } else {
      ScriptRunnerOptions opts;
      opts.max_procs = config.max_procs;
      opts.kill_grace_ms = config.kill_grace_ms;
      executor =
          std::make_unique<RealExecutor>(ioc, store, sandboxes, opts, config.transfer_threads);
    }
    PlanRunner plan_runner(ioc, store, *executor);
    JobApi api(inventory, plans, store, *executor, plan_runner);
    Router router(api, stats, faults, AuthConfig{config.app_code, config.app_secret}, store,
                  *executor, inventory, config.executor);
    HttpServer server(ioc, router);
    auto [host, port] = parse_listen(config.listen);
    unsigned short bound = server.listen(host, port);
    if (!config.port_file.empty()) write_port_file(config.port_file, bound);
    spdlog::info(
        "event=listening address={} port={} hosts={} plans={} executor={} data_dir={} auth={} "
        "faults={}",
        host, bound, inventory.hosts().size(), plans.plans().size(), config.executor, data_dir,
        config.app_code.empty() ? "off" : "on", config.faults.size());

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      spdlog::info("event=shutdown signal={}", sig);
      ioc.stop();
    });
    std::vector<std::thread> threads;
    for (int i = 1; i < config.threads; ++i) threads.emplace_back([&] { ioc.run(); });
    ioc.run();
    for (auto& t : threads) t.join();
    executor->shutdown();
  } catch (const std::exception& e) {
    spdlog::critical("event=startup_failed error=\"{}\"", e.what());
    rc = 1;
  }
  if (remove_data) {
    std::error_code ec;
    fs::remove_all(data_dir, ec);
  }
  return rc;
}

}  // namespace jobsim
