#include "jobsim/transfer_runner.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "jobsim/text_util.h"

namespace jobsim {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

enum class Outcome { kOk, kMissing, kEscape, kError, kTerminated, kTimeout };

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

std::string base_name(const std::string& normalized) {
  size_t slash = normalized.rfind('/');
  return slash == std::string::npos ? normalized : normalized.substr(slash + 1);
}

// Per-host copy context: throttling, cancellation and progress reporting.
struct CopyContext {
  JobStore* store;
  std::shared_ptr<Job> job;
  size_t host_idx;
  size_t log_idx;  // index of the download FileLog being written
  double rate;     // bytes per second, 0 = unlimited
  Steady::time_point deadline;
  Steady::time_point started;
  uint64_t bytes = 0;
  std::string error;
  const std::atomic<bool>* stopping = nullptr;

  Outcome check() {
    if (stopping && stopping->load()) return Outcome::kTerminated;
    {
      std::lock_guard<std::mutex> lock(job->mu);
      if (job->terminating) return Outcome::kTerminated;
    }
    if (Steady::now() >= deadline) return Outcome::kTimeout;
    return Outcome::kOk;
  }

  void progress() {
    double secs = std::chrono::duration<double>(Steady::now() - started).count();
    std::lock_guard<std::mutex> lock(job->mu);
    FileLog& fl = job->hosts[host_idx].file_logs[log_idx];
    fl.done = bytes;
    fl.speed = secs > 0 ? bytes / secs : 0;
  }

  Outcome throttle() {
    if (rate <= 0) return check();
    for (;;) {
      Outcome o = check();
      if (o != Outcome::kOk) return o;
      auto due = started + std::chrono::duration_cast<Steady::duration>(
                               std::chrono::duration<double>(bytes / rate));
      auto now = Steady::now();
      if (now >= due) return Outcome::kOk;
      std::this_thread::sleep_for(
          std::min<Steady::duration>(due - now, std::chrono::milliseconds(50)));
    }
  }

  Outcome copy_file(const fs::path& src, const fs::path& dst) {
    int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) {
      error = "cannot open source: " + std::string(std::strerror(errno));
      return Outcome::kError;
    }
    int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (out < 0) {
      error = "cannot create " + dst.string() + ": " + std::strerror(errno);
      ::close(in);
      return Outcome::kError;
    }
    std::vector<char> buf(64 * 1024);
    Outcome result = Outcome::kOk;
    for (;;) {
      result = throttle();
      if (result != Outcome::kOk) break;
      ssize_t n = ::read(in, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = "read failed: " + std::string(std::strerror(errno));
        result = Outcome::kError;
        break;
      }
      if (n == 0) break;
      ssize_t off = 0;
      while (off < n) {
        ssize_t w = ::write(out, buf.data() + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
          error = "write failed: " + std::string(std::strerror(errno));
          result = Outcome::kError;
          break;
        }
        off += w;
      }
      if (result != Outcome::kOk) break;
      bytes += static_cast<uint64_t>(n);
      progress();
    }
    ::close(in);
    if (::close(out) != 0 && result == Outcome::kOk) {
      error = "close failed: " + std::string(std::strerror(errno));
      result = Outcome::kError;
    }
    return result;
  }
};

uint64_t tree_size(const fs::path& p) {
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) return fs::file_size(p, ec);
  uint64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(p, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
  }
  return total;
}

}  // namespace

TransferRunner::TransferRunner(JobStore& store, const Sandboxes& sandboxes, size_t threads)
    : store_(store), sandboxes_(sandboxes) {
  if (threads == 0) threads = 1;
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { worker(); });
}

TransferRunner::~TransferRunner() { shutdown(); }

void TransferRunner::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void TransferRunner::start(const std::shared_ptr<Job>& job) {
  store_.job_started(job);
  // Upload logs: one per (source host, file), waiting until a target fetches it.
  {
    std::lock_guard<std::mutex> lock(job->mu);
    for (auto& src : job->transfer.sources) {
      for (auto& h : src.hosts) {
        for (auto& f : src.files) {
          auto& logs = job->uploads[h.host_id];
          bool seen = false;
          for (auto& l : logs) seen = seen || l.src_path == f;
          if (seen) continue;
          FileLog l;
          l.mode = 0;
          l.src = h;
          l.src_path = f;
          l.status = file_status::kWaiting;
          logs.push_back(l);
        }
      }
    }
  }
  std::vector<size_t> queued;
  for (size_t i = 0; i < job->hosts.size(); ++i) {
    {
      // A plan step's retry runs only the hosts made to wait again.
      std::lock_guard<std::mutex> lock(job->mu);
      if (host_status::final(job->hosts[i].status)) continue;
    }
    if (job->hosts[i].host.agent_abnormal) {
      store_.host_finished(job, i, host_status::kAgentAbnormal, 0,
                           "[jobsim] agent status of host " +
                               std::to_string(job->hosts[i].host.host_id) + " is abnormal");
    } else {
      queued.push_back(i);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i : queued) queue_.emplace_back(job, i);
  }
  cv_.notify_all();
}

void TransferRunner::terminate(const std::shared_ptr<Job>& job) {
  std::vector<size_t> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->first == job) {
        dropped.push_back(it->second);
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (size_t i : dropped) {
    store_.host_finished(job, i, host_status::kTerminated, 0, "[jobsim] terminated before start");
  }
  // Running copies see job->terminating between chunks.
}

void TransferRunner::worker() {
  for (;;) {
    std::pair<std::shared_ptr<Job>, size_t> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      task = queue_.front();
      queue_.pop_front();
    }
    running_.fetch_add(1);
    try {
      run_host(task.first, task.second);
    } catch (const std::exception& e) {
      store_.host_finished(task.first, task.second, host_status::kCopyFailed, 0,
                           std::string("[jobsim] internal error: ") + e.what());
    }
    running_.fetch_sub(1);
  }
}

void TransferRunner::run_host(const std::shared_ptr<Job>& job, size_t idx) {
  store_.host_running(job, idx);
  const Host target = job->hosts[idx].host;
  const TransferSpec& spec = job->transfer;
  double rate = 0;
  if (spec.upload_limit > 0) rate = spec.upload_limit;
  if (spec.download_limit > 0 && (rate == 0 || spec.download_limit < rate))
    rate = spec.download_limit;
  auto deadline = Steady::now() + std::chrono::seconds(job->timeout_s);
  sandboxes_.ensure_host(target.host_id);

  struct Item {
    Host src;
    std::string src_path;
    std::optional<fs::path> src_real;
    bool exists = false;
  };
  std::vector<Item> items;
  for (auto& source : spec.sources) {
    for (auto& sh : source.hosts) {
      sandboxes_.ensure_host(sh.host_id);
      for (auto& f : source.files) {
        Item it{sh, f, sandboxes_.resolve(sh.host_id, f), false};
        std::error_code ec;
        it.exists = it.src_real && !sh.agent_abnormal && fs::exists(*it.src_real, ec);
        items.push_back(it);
      }
    }
  }
  bool any_missing = false;
  for (auto& it : items) any_missing = any_missing || (it.src_real && !it.exists);
  bool strict_block = spec.mode == 1 && any_missing;

  bool missing = false, failed = false;
  Outcome stop = Outcome::kOk;
  for (auto& it : items) {
    std::string dest_dir_req = replace_all(spec.target_path, "[FILESRCIP]", it.src.ip);
    std::string dest_req = (dest_dir_req == "/" ? "" : dest_dir_req) + "/" + base_name(it.src_path);
    FileLog fl;
    fl.mode = 1;
    fl.src = it.src;
    fl.src_path = it.src_path;
    fl.dest = target;
    fl.dest_path = dest_req;
    fl.status = file_status::kDownloading;
    size_t log_idx;
    {
      std::lock_guard<std::mutex> lock(job->mu);
      job->hosts[idx].file_logs.push_back(fl);
      log_idx = job->hosts[idx].file_logs.size() - 1;
    }
    auto set_upload = [&](int status, uint64_t size, double speed, const std::string& text) {
      std::lock_guard<std::mutex> lock(job->mu);
      for (auto& u : job->uploads[it.src.host_id]) {
        if (u.src_path != it.src_path) continue;
        if (u.status == file_status::kSuccess && status != file_status::kFailed) return;
        u.status = status;
        u.size = size;
        u.done = status == file_status::kSuccess ? size : u.done;
        u.speed = speed;
        u.log = text;
      }
    };
    auto finish_log = [&](int status, uint64_t size, uint64_t done, double speed,
                          const std::string& text) {
      std::lock_guard<std::mutex> lock(job->mu);
      FileLog& l = job->hosts[idx].file_logs[log_idx];
      l.status = status;
      l.size = size;
      l.done = done;
      l.speed = speed;
      l.log = text;
    };

    if (stop != Outcome::kOk) {
      finish_log(file_status::kFailed, 0, 0, 0,
                 "FileName: " + it.src_path + " StatusDesc: cancelled");
      continue;
    }
    if (it.src.agent_abnormal) {
      failed = true;
      std::string text = "FileName: " + it.src_path + " StatusDesc: agent of source host " +
                         it.src.ip + " is abnormal";
      set_upload(file_status::kFailed, 0, 0, text);
      finish_log(file_status::kFailed, 0, 0, 0, text);
      continue;
    }
    if (!it.src_real) {
      failed = true;
      std::string text = "FileName: " + it.src_path +
                         " StatusDesc: source path escapes the host sandbox of " + it.src.ip;
      set_upload(file_status::kFailed, 0, 0, text);
      finish_log(file_status::kFailed, 0, 0, 0, text);
      continue;
    }
    if (!it.exists) {
      missing = true;
      std::string text = "FileName: " + it.src_path +
                         " StatusDesc: source file not found on host " +
                         std::to_string(it.src.host_id) + " (" + it.src.ip + ")";
      set_upload(file_status::kFailed, 0, 0, text);
      finish_log(file_status::kFailed, 0, 0, 0, text);
      continue;
    }
    uint64_t size = tree_size(*it.src_real);
    {
      std::lock_guard<std::mutex> lock(job->mu);
      job->hosts[idx].file_logs[log_idx].size = size;
    }
    if (strict_block) {
      std::string text = "FileName: " + it.src_path +
                         " StatusDesc: not sent (strict mode: another source file is missing)";
      finish_log(file_status::kFailed, size, 0, 0, text);
      continue;
    }
    set_upload(file_status::kUploading, size, 0,
               "FileName: " + it.src_path + " StatusDesc: uploading");

    auto dest_dir = sandboxes_.resolve(target.host_id, dest_dir_req);
    auto dest = sandboxes_.resolve(target.host_id, dest_req);
    std::error_code ec;
    if (dest_dir) fs::create_directories(*dest_dir, ec);
    // Resolve again after creating: a symlink on the way must not lead outside.
    if (dest_dir) dest_dir = sandboxes_.resolve(target.host_id, dest_dir_req);
    if (!dest_dir || !dest || ec || !fs::is_directory(*dest_dir)) {
      failed = true;
      std::string text = "FileName: " + it.src_path + " StatusDesc: target path " + dest_dir_req +
                         (ec ? " cannot be created: " + ec.message()
                             : " escapes the host sandbox or is not a directory");
      finish_log(file_status::kFailed, size, 0, 0, text);
      continue;
    }
    CopyContext ctx{&store_, job, idx, log_idx, rate, deadline, Steady::now(), 0, "", &stopping_};
    Outcome o = Outcome::kOk;
    if (fs::is_directory(*it.src_real, ec)) {
      fs::path src_root = sandboxes_.host_root(it.src.host_id);
      fs::create_directories(*dest, ec);
      for (auto rit = fs::recursive_directory_iterator(*it.src_real, ec);
           o == Outcome::kOk && !ec && rit != fs::recursive_directory_iterator();
           rit.increment(ec)) {
        fs::path rel = fs::relative(rit->path(), *it.src_real, ec);
        fs::path out = *dest / rel;
        if (rit->is_symlink(ec)) continue;  // links are not followed out of the tree
        if (rit->is_directory(ec)) {
          fs::create_directories(out, ec);
        } else if (rit->is_regular_file(ec)) {
          o = ctx.copy_file(rit->path(), out);
        }
      }
      if (ec && o == Outcome::kOk) {
        o = Outcome::kError;
        ctx.error = ec.message();
      }
    } else {
      o = ctx.copy_file(*it.src_real, *dest);
    }
    double secs = std::chrono::duration<double>(Steady::now() - ctx.started).count();
    double speed = secs > 0 ? ctx.bytes / secs : static_cast<double>(ctx.bytes);
    if (o == Outcome::kOk) {
      std::string text = "FileName: " + dest_req + " FileSize: " + format_size(size) +
                         " State: download success Speed: " + format_speed(speed) +
                         " Progress: 100% StatusDesc: download success";
      finish_log(file_status::kSuccess, size, size, speed, text);
      set_upload(file_status::kSuccess, size, speed,
                 "FileName: " + it.src_path + " FileSize: " + format_size(size) +
                     " State: upload success Speed: " + format_speed(speed) +
                     " Progress: 100% StatusDesc: upload success");
    } else {
      std::string why = o == Outcome::kTerminated ? "terminated"
                        : o == Outcome::kTimeout  ? "timed out"
                                                  : ctx.error;
      finish_log(file_status::kFailed, size, ctx.bytes, speed,
                 "FileName: " + dest_req + " StatusDesc: download failed: " + why);
      if (o == Outcome::kError) {
        failed = true;
      } else {
        stop = o;
      }
    }
  }
  int status = host_status::kSuccess;
  std::string line;
  if (stop == Outcome::kTerminated) {
    status = host_status::kTerminated;
    line = "[jobsim] transfer terminated";
  } else if (stop == Outcome::kTimeout) {
    status = host_status::kTaskTimeout;
    line = "[jobsim] transfer timed out after " + std::to_string(job->timeout_s) + " s";
  } else if (missing) {
    status = host_status::kSourceMissing;
  } else if (failed) {
    status = host_status::kCopyFailed;
  }
  store_.host_finished(job, idx, status, 0, line);
}

}  // namespace jobsim
