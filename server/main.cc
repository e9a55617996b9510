// jobgw: the gRPC gateway to JOB. Flags, logging and signals; server/gateway.h builds the rest.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "server/config.h"
#include "server/gateway.h"

namespace {

using jobgw::server::GatewayConfig;

// After the first signal: a second one, or a shutdown stuck well past its grace period, ends the
// process at once rather than leaving an orchestrator waiting on a wedged gateway.
void start_shutdown_watchdog(sigset_t signals, std::chrono::milliseconds grace) {
  std::thread([signals, grace] {
    auto limit = grace + std::chrono::seconds(5);
    auto deadline = std::chrono::steady_clock::now() + limit;
    int sig = -1;
    // EINTR is no signal of ours: ptrace (debuggers, LeakSanitizer's exit-time check) interrupts
    // the wait, and treating it as a timeout forced a clean shutdown to exit 1, logging through
    // a logger static destruction had already freed (ASan: heap-use-after-free in jobgw).
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      timespec wait{static_cast<time_t>(left.count() / 1000),
                    static_cast<long>((left.count() % 1000) * 1000000)};
      sig = ::sigtimedwait(&signals, nullptr, &wait);
      if (sig > 0 || errno != EINTR) break;
    }
    if (sig > 0) {
      spdlog::warn("event=shutdown_forced reason=second_signal signal={}", sig);
    } else {
      spdlog::error("event=shutdown_forced reason=grace_exceeded limit_ms={}", limit.count());
    }
    spdlog::default_logger()->flush();
    std::_Exit(1);
  }).detach();
}

int run(const GatewayConfig& config) {
  // Signals are taken by sigwait on the main thread; every thread the gateway starts inherits the
  // mask, so no io or gRPC thread is ever interrupted by them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigset_t with_reload = signals;
  sigaddset(&with_reload, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &with_reload, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  jobgw::server::Gateway gateway(config);
  if (auto error = gateway.start()) return error->exit_code;

  int sig = 0;
  for (;;) {
    if (::sigwait(&with_reload, &sig) != 0) continue;
    if (sig != SIGHUP) break;
    gateway.reload_credentials();
  }
  auto grace = config.shutdown_grace;
  spdlog::info("event=shutting_down signal={} grace_ms={}", sig, grace.count());
  start_shutdown_watchdog(signals, grace);
  gateway.stop(grace);
  spdlog::info("event=stopped");
  return 0;
}

// glibc raises its mmap threshold to the size of each large block freed, after which multi-MiB
// buffers (GetIpLogs pages, 1000-host status answers) come from the per-thread arenas and stay
// there: bench scenario 6 saw jobgw's RSS grow 13 MiB per 1000-host job (16 MiB of logs) and
// never come back. Fixed thresholds keep large blocks mmapped, so they return to the system.
void keep_large_blocks_returnable() {
  constexpr int kThreshold = 256 * 1024;
  mallopt(M_MMAP_THRESHOLD, kThreshold);
  mallopt(M_TRIM_THRESHOLD, kThreshold);
}

}  // namespace

int main(int argc, char** argv) {
  keep_large_blocks_returnable();
  std::vector<std::string> args(argv + 1, argv + argc);
  auto loaded = jobgw::server::load_config(args, jobgw::server::process_environment());
  if (!loaded) {
    std::cerr << "jobgw: " << loaded.error().message << " (see jobgw --help)\n";
    return 2;
  }
  if (loaded.value().help) {
    std::cout << jobgw::server::config_help();
    return 0;
  }
  const GatewayConfig& config = loaded.value().config;

  // stdout stays free for --help; logs are one line per event on stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("jobgw"));
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  for (const auto& warning : loaded.value().warnings) {
    spdlog::warn("event=config_warning detail=\"{}\"", warning);
  }
  return run(config);
}
