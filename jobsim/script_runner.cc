#include "jobsim/script_runner.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "jobsim/plan.h"

extern char** environ;

namespace jobsim {

namespace asio = boost::asio;
namespace fs = std::filesystem;

struct ScriptRunner::Proc {
  Proc(asio::io_context& ioc) : pipe(ioc), timeout_timer(ioc), kill_timer(ioc), drain_timer(ioc) {}
  std::shared_ptr<Job> job;
  size_t idx = 0;
  pid_t pid = -1;
  asio::posix::stream_descriptor pipe;
  asio::steady_timer timeout_timer;
  asio::steady_timer kill_timer;
  asio::steady_timer drain_timer;
  std::array<char, 16384> buf{};
  bool exited = false;
  int wait_status = 0;
  bool eof = false;
  bool timed_out = false;
  bool terminated = false;
  bool done = false;
};

namespace {

std::string find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= p.size()) {
    size_t colon = p.find(':', pos);
    if (colon == std::string::npos) colon = p.size();
    std::string dir = p.substr(pos, colon - pos);
    if (!dir.empty()) {
      std::string cand = dir + "/" + name;
      if (::access(cand.c_str(), X_OK) == 0) return cand;
    }
    pos = colon + 1;
  }
  return "";
}

const char* extension(int language) {
  switch (language) {
    case 3:
      return ".pl";
    case 4:
      return ".py";
    default:
      return ".sh";
  }
}

}  // namespace

ScriptRunner::ScriptRunner(asio::io_context& ioc, JobStore& store, const Sandboxes& sandboxes,
                           ScriptRunnerOptions options)
    : ioc_(ioc),
      strand_(asio::make_strand(ioc)),
      store_(store),
      sandboxes_(sandboxes),
      options_(options),
      sigchld_(ioc, SIGCHLD) {
  if (options_.max_procs == 0) options_.max_procs = 1;
  bash_ = find_in_path("bash");
  python_ = find_in_path("python3");
  perl_ = find_in_path("perl");
  wait_signal();
}

ScriptRunner::~ScriptRunner() { shutdown(); }

std::string ScriptRunner::interpreter(int language) const {
  switch (language) {
    case 1:
      return bash_;
    case 3:
      return perl_;
    case 4:
      return python_;
    default:
      return "";
  }
}

void ScriptRunner::wait_signal() {
  sigchld_.async_wait(asio::bind_executor(strand_, [this](boost::system::error_code ec, int) {
    if (ec) return;
    reap();
    wait_signal();
  }));
}

bool ScriptRunner::wrapped(const Job& job) {
  return job.script.language == 1 && (!job.script.prelude.empty() || !job.script.read_back.empty());
}

std::string ScriptRunner::script_file(const std::shared_ptr<Job>& job) {
  auto it = script_files_.find(job->step_id);
  if (it != script_files_.end()) return it->second;
  fs::path dir = sandboxes_.data_dir() / "work" / ("step_" + std::to_string(job->step_id));
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::path file = dir / (std::string("script") + extension(job->script.language));
  auto write = [&ec](const fs::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) return false;
    fs::permissions(path, fs::perms::owner_all, ec);
    return true;
  };
  if (!write(file, job->script.content)) return "";
  fs::path run = file;
  if (wrapped(*job)) {
    // JOB sources a shell step and reads its variables back at the end: the wrapper declares
    // them, sources the script (so its line numbers and exit code stay its own) and, on exit,
    // writes name/value pairs (NUL-separated) to a side file per host, never to the log.
    std::string names;
    for (auto& n : job->script.read_back) names += " " + shell_quote(n);
    std::string wrapper = job->script.prelude;
    if (!job->script.read_back.empty()) {
      wrapper += "__jobsim_vars_out() { local __jobsim_n; for __jobsim_n in" + names +
                 "; do printf '%s\\0' \"$__jobsim_n\" \"${!__jobsim_n-}\"; done 2>/dev/null >" +
                 shell_quote((dir / "vars_").string()) + "\"$JOB_HOST_ID\"; }\n" +
                 "trap __jobsim_vars_out EXIT\n";
    }
    wrapper += ". " + shell_quote(file.string()) + " \"$@\"\n";
    run = dir / "run.sh";
    if (!write(run, wrapper)) return "";
  }
  script_files_[job->step_id] = run.string();
  return run.string();
}

void ScriptRunner::start(const std::shared_ptr<Job>& job) {
  asio::post(strand_, [this, job] {
    store_.job_started(job);
    std::string interp = interpreter(job->script.language);
    std::string script;
    size_t queued = 0;
    for (size_t i = 0; i < job->hosts.size(); ++i) {
      {
        // A plan step's retry runs only the hosts made to wait again.
        std::lock_guard<std::mutex> lock(job->mu);
        if (host_status::final(job->hosts[i].status)) continue;
      }
      const Host& h = job->hosts[i].host;
      if (h.agent_abnormal) {
        store_.host_finished(
            job, i, host_status::kAgentAbnormal, 0,
            "[jobsim] agent status of host " + std::to_string(h.host_id) + " is abnormal");
        continue;
      }
      if (job->script.language == 2 || job->script.language == 5) {
        store_.host_finished(job, i, host_status::kSubmitFailed, 0,
                             "[jobsim] submit failed: bat/powershell scripts need a Windows host");
        continue;
      }
      if (interp.empty()) {
        store_.host_finished(job, i, host_status::kSubmitFailed, 0,
                             "[jobsim] submit failed: no interpreter for script_language " +
                                 std::to_string(job->script.language));
        continue;
      }
      if (script.empty()) script = script_file(job);
      if (script.empty()) {
        store_.host_finished(job, i, host_status::kSubmitFailed, 0,
                             "[jobsim] submit failed: cannot write the script file");
        continue;
      }
      queue_.emplace_back(job, i);
      ++queued;
    }
    if (queued > 0) outstanding_[job->step_id] += queued;
    pump();
  });
}

void ScriptRunner::pump() {
  while (procs_.size() < options_.max_procs && !queue_.empty()) {
    auto [job, idx] = queue_.front();
    queue_.pop_front();
    bool terminating;
    {
      std::lock_guard<std::mutex> lock(job->mu);
      terminating = job->terminating;
    }
    if (terminating) {
      store_.host_finished(job, idx, host_status::kTerminated, 0,
                           "[jobsim] terminated before start");
      if (--outstanding_[job->step_id] == 0) {
        outstanding_.erase(job->step_id);
      }
      continue;
    }
    spawn(job, idx);
  }
  // Script files of jobs that have nothing left here.
  for (auto it = script_files_.begin(); it != script_files_.end();) {
    if (outstanding_.count(it->first) == 0) {
      std::error_code ec;
      fs::remove_all(fs::path(it->second).parent_path(), ec);
      it = script_files_.erase(it);
    } else {
      ++it;
    }
  }
}

void ScriptRunner::spawn(const std::shared_ptr<Job>& job, size_t idx) {
  const Host& host = job->hosts[idx].host;
  fs::path cwd = sandboxes_.ensure_host(host.host_id);
  std::string interp = interpreter(job->script.language);
  std::string script = script_files_[job->step_id];

  std::vector<std::string> argv_s{interp, script};
  argv_s.insert(argv_s.end(), job->script.args.begin(), job->script.args.end());
  std::vector<std::string> env_s;
  static const char* overridden[] = {
      "JOB_HOST_ID=",          "JOB_HOST_IP=", "JOB_CLOUD_ID=", "JOB_INSTANCE_ID=",
      "JOB_STEP_INSTANCE_ID=", "JOB_SANDBOX=", "JOB_OPERATOR="};
  for (char** e = environ; e && *e; ++e) {
    bool skip = false;
    for (const char* o : overridden) skip = skip || std::strncmp(*e, o, std::strlen(o)) == 0;
    if (!skip) env_s.emplace_back(*e);
  }
  env_s.push_back("JOB_HOST_ID=" + std::to_string(host.host_id));
  env_s.push_back("JOB_HOST_IP=" + host.ip);
  env_s.push_back("JOB_CLOUD_ID=" + std::to_string(host.cloud_id));
  env_s.push_back("JOB_INSTANCE_ID=" + std::to_string(job->id));
  env_s.push_back("JOB_STEP_INSTANCE_ID=" + std::to_string(job->step_id));
  env_s.push_back("JOB_SANDBOX=" + cwd.string());
  env_s.push_back("JOB_OPERATOR=" + job->username);
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string cwd_s = cwd.string();

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    store_.host_finished(job, idx, host_status::kSubmitFailed, 0,
                         std::string("[jobsim] submit failed: pipe: ") + std::strerror(errno));
    if (--outstanding_[job->step_id] == 0) outstanding_.erase(job->step_id);
    return;
  }
  // Until execve the child is a copy of jobsim with jobsim's signal handlers, which write into a
  // pipe shared with the parent: a terminate's SIGTERM arriving in that window would make jobsim
  // itself shut down. So signals stay blocked across fork and the child resets every handler to
  // the default before unblocking them.
  sigset_t all, previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::setpgid(0, 0);
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    if (::chdir(cwd_s.c_str()) != 0) ::_exit(126);
    ::close_range(3, ~0U, 0);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    store_.host_finished(job, idx, host_status::kSubmitFailed, 0,
                         std::string("[jobsim] submit failed: fork: ") + std::strerror(errno));
    if (--outstanding_[job->step_id] == 0) outstanding_.erase(job->step_id);
    return;
  }
  ::setpgid(pid, pid);
  auto p = std::make_shared<Proc>(ioc_);
  p->job = job;
  p->idx = idx;
  p->pid = pid;
  boost::system::error_code ec;
  p->pipe.assign(fds[0], ec);
  procs_[pid] = p;
  running_count_.store(procs_.size());
  store_.host_running(job, idx);
  spdlog::debug("event=spawn job={} host={} pid={}", job->id, host.host_id, pid);
  read_more(p);
  p->timeout_timer.expires_after(std::chrono::seconds(job->timeout_s));
  p->timeout_timer.async_wait(asio::bind_executor(strand_, [p](boost::system::error_code ec) {
    if (ec || p->exited) return;
    p->timed_out = true;
    ::kill(-p->pid, SIGKILL);
  }));
}

void ScriptRunner::read_more(const std::shared_ptr<Proc>& p) {
  p->pipe.async_read_some(
      asio::buffer(p->buf),
      asio::bind_executor(strand_, [this, p](boost::system::error_code ec, std::size_t n) {
        if (n > 0) store_.append_log(p->job, p->idx, p->buf.data(), n);
        if (ec) {
          p->eof = true;
          reap();
          maybe_finish(p);
          return;
        }
        read_more(p);
      }));
}

void ScriptRunner::reap() {
  for (auto& [pid, p] : procs_) {
    if (p->exited) continue;
    int st = 0;
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r != pid) continue;
    p->exited = true;
    p->wait_status = st;
    if (!p->eof) {
      // Something in the group still holds the pipe: give it a moment, then stop reading.
      p->drain_timer.expires_after(std::chrono::milliseconds(options_.exit_drain_ms));
      // A named copy: lambdas cannot capture structured bindings before C++20 (clang refuses).
      std::shared_ptr<Proc> proc = p;
      p->drain_timer.async_wait(asio::bind_executor(strand_, [proc](boost::system::error_code ec) {
        if (ec) return;
        boost::system::error_code ignored;
        proc->pipe.close(ignored);
      }));
    }
  }
  // maybe_finish erases from procs_, so collect first.
  std::vector<std::shared_ptr<Proc>> ready;
  for (auto& [pid, p] : procs_) {
    if (p->exited && p->eof) ready.push_back(p);
  }
  for (auto& p : ready) maybe_finish(p);
}

void ScriptRunner::maybe_finish(const std::shared_ptr<Proc>& p) {
  if (p->done || !p->exited || !p->eof) return;
  p->done = true;
  p->timeout_timer.cancel();
  p->kill_timer.cancel();
  p->drain_timer.cancel();
  boost::system::error_code ignored;
  p->pipe.close(ignored);
  ::kill(-p->pid, SIGKILL);  // whatever the script left running in its group
  procs_.erase(p->pid);
  running_count_.store(procs_.size());

  int st = p->wait_status;
  int status = host_status::kSuccess;
  int exit_code = 0;
  std::string line;
  if (WIFEXITED(st)) exit_code = WEXITSTATUS(st);
  if (WIFSIGNALED(st)) exit_code = 128 + WTERMSIG(st);
  if (p->terminated) {
    status = host_status::kScriptTerminated;
    line = "[jobsim] script terminated by operate_job_instance";
  } else if (p->timed_out) {
    status = host_status::kScriptTimeout;
    line = "[jobsim] script timed out after " + std::to_string(p->job->timeout_s) +
           " s; its process group was killed";
  } else if (WIFEXITED(st)) {
    status = exit_code == 0 ? host_status::kSuccess : host_status::kNonZeroExit;
    if (exit_code == 126) line = "[jobsim] cannot enter the host sandbox";
    if (exit_code == 127) line = "[jobsim] exit code 127 (command or interpreter not found)";
  } else {
    status = host_status::kScriptFailed;
    line = "[jobsim] script killed by signal " + std::to_string(WTERMSIG(st));
  }
  spdlog::debug("event=host_end job={} host={} status={} exit_code={}", p->job->id,
                p->job->hosts[p->idx].host.host_id, status, exit_code);
  if (!p->job->script.read_back.empty()) read_vars(p->job, p->idx);
  store_.host_finished(p->job, p->idx, status, exit_code, line);
  if (--outstanding_[p->job->step_id] == 0) outstanding_.erase(p->job->step_id);
  pump();
}

void ScriptRunner::read_vars(const std::shared_ptr<Job>& job, size_t idx) {
  auto it = script_files_.find(job->step_id);
  if (it == script_files_.end()) return;
  fs::path file =
      fs::path(it->second).parent_path() / ("vars_" + std::to_string(job->hosts[idx].host.host_id));
  std::ifstream in(file, std::ios::binary);
  if (!in) return;  // killed before its exit trap ran: the variables keep their values
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::map<std::string, std::string> vars;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t name_end = text.find('\0', pos);
    if (name_end == std::string::npos) break;
    size_t value_end = text.find('\0', name_end + 1);
    if (value_end == std::string::npos) break;
    vars[text.substr(pos, name_end - pos)] = text.substr(name_end + 1, value_end - name_end - 1);
    pos = value_end + 1;
  }
  store_.set_host_vars(job, idx, std::move(vars));
}

void ScriptRunner::terminate(const std::shared_ptr<Job>& job) {
  asio::post(strand_, [this, job] {
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->first == job) {
        store_.host_finished(job, it->second, host_status::kTerminated, 0,
                             "[jobsim] terminated before start");
        if (--outstanding_[job->step_id] == 0) outstanding_.erase(job->step_id);
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [pid, p] : procs_) {
      if (p->job != job || p->exited) continue;
      p->terminated = true;
      ::kill(-pid, SIGTERM);
      auto proc = p;
      p->kill_timer.expires_after(std::chrono::milliseconds(options_.kill_grace_ms));
      p->kill_timer.async_wait(asio::bind_executor(strand_, [proc](boost::system::error_code ec) {
        if (ec || proc->exited) return;
        ::kill(-proc->pid, SIGKILL);
      }));
    }
    pump();
  });
}

void ScriptRunner::shutdown() {
  for (auto& [pid, p] : procs_) {
    ::kill(-pid, SIGKILL);
    int st;
    ::waitpid(pid, &st, 0);
  }
  procs_.clear();
  queue_.clear();
  running_count_.store(0);
  for (auto& [id, file] : script_files_) {
    std::error_code ec;
    fs::remove_all(fs::path(file).parent_path(), ec);
  }
  script_files_.clear();
}

}  // namespace jobsim
