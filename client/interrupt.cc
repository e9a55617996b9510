#include "client/interrupt.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace jobgw::client {
namespace {

// The write end of the live InterruptWatch's pipe, for the handler (which may only write).
volatile sig_atomic_t g_interrupt_fd = -1;
struct sigaction g_previous {};

constexpr char kInterrupt = 'i';
constexpr char kQuit = 'q';

void on_sigint(int) {
  const int saved = errno;
  const int fd = g_interrupt_fd;
  if (fd >= 0) (void)!::write(fd, &kInterrupt, 1);
  errno = saved;
}

// `text` as one shell word.
std::string shell_word(const std::string& text) {
  constexpr std::string_view kPlain =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:@,+=-[]";
  if (!text.empty() && text.find_first_not_of(kPlain) == std::string::npos) return text;
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

std::string connection_flags(const CliCommand& c, bool default_scope) {
  const auto& g = c.global;
  std::string flags;
  auto add = [&flags](const std::string& flag, const std::string& value) {
    flags += " " + flag;
    if (!value.empty()) flags += " " + shell_word(value);
  };
  if (g.address != kDefaultAddress) add("--addr", g.address);
  if (!g.ca_file.empty()) {
    add("--ca-file", g.ca_file);
  } else if (g.tls) {
    add("--tls", "");
  }
  if (!g.cert_file.empty()) add("--cert-file", g.cert_file);
  if (!g.key_file.empty()) add("--key-file", g.key_file);
  if (!g.server_name.empty()) add("--server-name", g.server_name);
  const bool is_default = !c.global.scope_set && g.scope.type() == "biz" && g.scope.id() == "1";
  if (default_scope || !is_default) {
    add("--scope",
        (g.scope.type().empty() ? std::string("biz") : g.scope.type()) + ":" + g.scope.id());
  }
  return flags;
}

std::string interrupted_note(const CliCommand& c, std::int64_t job_id, bool job_finished,
                             bool follow) {
  const std::string id = std::to_string(job_id);
  const std::string flags = connection_flags(c);
  if (job_finished) {
    return "jobctl: interrupted; job " + id +
           " had already finished\n"
           "  see it again: jobctl status" +
           flags + " " + id + "\n";
  }
  std::string again = follow ? "jobctl logs -f" + flags +
                                   (c.step_id != 0 ? " --step " + std::to_string(c.step_id) : "")
                             : "jobctl watch" + flags;
  return "jobctl: interrupted; job " + id +
         " is still running on JOB\n"
         "  " +
         std::string(follow ? "follow it again: " : "watch it again:  ") + again + " " + id +
         "\n"
         "  terminate it:    jobctl terminate" +
         flags + " " + id + "\n";
}

InterruptWatch::InterruptWatch(std::function<void()> on_interrupt)
    : on_interrupt_(std::move(on_interrupt)) {
  // Without a pipe Ctrl-C keeps its default effect: jobctl ends, as it always did.
  if (::pipe2(pipe_, O_CLOEXEC) != 0) return;
  g_interrupt_fd = pipe_[1];
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  installed_ = ::sigaction(SIGINT, &action, &g_previous) == 0;
  thread_ = std::thread([this] {
    char c = 0;
    while (true) {
      ssize_t n = ::read(pipe_[0], &c, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || c == kQuit) return;
      if (!interrupted_.exchange(true) && on_interrupt_) on_interrupt_();
    }
  });
}

InterruptWatch::~InterruptWatch() {
  if (installed_) ::sigaction(SIGINT, &g_previous, nullptr);
  g_interrupt_fd = -1;
  if (thread_.joinable()) {
    (void)!::write(pipe_[1], &kQuit, 1);
    thread_.join();
  }
  for (int fd : pipe_) {
    if (fd >= 0) ::close(fd);
  }
}

}  // namespace jobgw::client
