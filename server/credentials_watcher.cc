#include "server/credentials_watcher.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "core/security/credentials.h"
#include "server/authorizer.h"
#include "server/server_metrics.h"

namespace jobgw::server {

CredentialsWatcher::CredentialsWatcher(Authorizer& authorizer, std::string path,
                                       core::Scheduler& scheduler,
                                       std::chrono::milliseconds interval, ServerMetrics* metrics)
    : authorizer_(authorizer),
      path_(std::move(path)),
      scheduler_(scheduler),
      interval_(interval),
      metrics_(metrics) {
  seen_ = stamp();
}

CredentialsWatcher::~CredentialsWatcher() { stop(); }

CredentialsWatcher::Stamp CredentialsWatcher::stamp() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return Stamp{};
  Stamp s;
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.size = static_cast<std::int64_t>(st.st_size);
  return s;
}

void CredentialsWatcher::start() {
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = false;
  if (interval_.count() > 0) arm();
}

void CredentialsWatcher::stop() {
  std::shared_ptr<core::Timer> timer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    timer = std::move(timer_);
  }
  if (timer) timer->cancel();
}

// With mu_ held.
void CredentialsWatcher::arm() {
  timer_ = scheduler_.after(interval_, [this] { poll(); });
}

void CredentialsWatcher::poll() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
  }
  const Stamp now = stamp();
  bool changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed = !(now == seen_);
  }
  // Success and failure are both logged and counted inside reload().
  if (changed) (void)reload("file_changed");
  std::lock_guard<std::mutex> lock(mu_);
  if (!stopped_) arm();
}

core::Result<void> CredentialsWatcher::reload(const std::string& trigger) {
  const Stamp before = stamp();
  auto loaded = core::Credentials::load(path_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    seen_ = before;
  }
  if (!loaded) {
    if (metrics_ != nullptr) metrics_->credentials_reload("failed");
    spdlog::error(
        "event=credentials_reload_failed trigger={} path={} error=\"{}\" detail=\"keeping the "
        "credentials in force\"",
        trigger, path_, loaded.error().message);
    return loaded.error();
  }
  const std::size_t callers = loaded.value().callers().size();
  authorizer_.replace(std::move(loaded.value()));
  if (metrics_ != nullptr) metrics_->credentials_reload("ok");
  spdlog::info("event=credentials_reloaded trigger={} path={} callers={}", trigger, path_, callers);
  return {};
}

}  // namespace jobgw::server
