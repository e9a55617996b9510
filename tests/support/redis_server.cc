#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/support/child_process.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_ca.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr int kPortAttempts = 3;

// ChildProcess execs without a PATH search.
std::string find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string require_binary(const std::string& name) {
  std::string found = find_in_path(name);
  if (found.empty()) {
    throw std::runtime_error(name + " not found on PATH (Debian: apt-get install redis-server)");
  }
  return found;
}

// Another process may take the port before redis binds it; launch() notices and retries.
int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot bind a loopback port");
  return ntohs(addr.sin_port);
}

// A redis.conf argument: double quotes let passwords hold spaces, quotes and '#'.
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// The same text redis-cli prints for a reply when its stdout is not a terminal, so a test reads
// the same thing from a plain and a TLS server.
std::string render(const redisReply* reply) {
  switch (reply->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string(reply->str, reply->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(reply->integer);
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (size_t i = 0; i < reply->elements; ++i) {
        if (i > 0) out += '\n';
        out += render(reply->element[i]);
      }
      return out;
    }
    default:
      return "";
  }
}

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;
using Reply = std::unique_ptr<redisReply, ReplyFree>;

Reply call(redisContext* ctx, const std::vector<std::string>& args, const std::string& where) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  Reply reply(static_cast<redisReply*>(
      redisCommandArgv(ctx, static_cast<int>(args.size()), argv.data(), lens.data())));
  if (!reply) {
    const std::string name = args.empty() ? "command" : args.front();
    throw std::runtime_error("redis at " + where + ": no reply to " + name + ": " + ctx->errstr);
  }
  return reply;
}

}  // namespace

bool RedisServer::available() { return !find_in_path("redis-server").empty(); }

RedisServer::RedisServer(Options options)
    : options_(std::move(options)), dir_(std::make_unique<TempDir>("jobgw-redis")) {
  if (options_.tls) {
    ca_ = std::make_unique<TestCa>(dir_->path(), "redis");
    const CertFiles cert = ca_->server_cert("redis-server");
    cert_file_ = cert.cert_file;
    key_file_ = cert.key_file;
  }
  start();
}

RedisServer::~RedisServer() { kill(); }

std::string RedisServer::url() const {
  std::string userinfo;
  if (!options_.acl_user.empty()) {
    userinfo = url_encode(options_.acl_user) + ":" + url_encode(options_.acl_password) + "@";
  } else if (!options_.password.empty()) {
    userinfo = ":" + url_encode(options_.password) + "@";
  }
  return std::string(options_.tls ? "rediss://" : "redis://") + userinfo +
         "127.0.0.1:" + std::to_string(port_) + "/0";
}

std::string RedisServer::ca_file() const { return ca_ ? ca_->ca_file() : ""; }

const std::string& RedisServer::dir() const { return dir_->path(); }

pid_t RedisServer::pid() const { return child_ ? child_->pid() : -1; }

bool RedisServer::running() { return child_ && child_->running(); }

std::string RedisServer::log() const { return child_ ? child_->log() : ""; }

void RedisServer::kill() {
  if (!running()) return;
  child_->signal_group(SIGKILL);
  child_->wait_exit(std::chrono::seconds(5));
}

void RedisServer::stop() {
  if (!running()) return;
  // A stopped process only acts on SIGTERM once it runs again.
  child_->signal_group(SIGCONT);
  child_->stop(std::chrono::seconds(5));
}

void RedisServer::restart() {
  stop();
  if (!launch()) {
    throw std::runtime_error("redis-server cannot bind 127.0.0.1:" + std::to_string(port_) +
                             " again: another process took it");
  }
}

void RedisServer::pause() {
  if (child_) child_->signal_group(SIGSTOP);
}

void RedisServer::resume() {
  if (child_) child_->signal_group(SIGCONT);
}

void RedisServer::start() {
  for (int attempt = 1; attempt <= kPortAttempts; ++attempt) {
    port_ = free_loopback_port();
    if (launch()) return;
  }
  throw std::runtime_error("redis-server found every port it was given taken, " +
                           std::to_string(kPortAttempts) + " times");
}

bool RedisServer::launch() {
  write_config();
  const std::string log_path = dir_->file("redis." + std::to_string(++runs_) + ".log");
  child_ = std::make_unique<ChildProcess>(
      require_binary("redis-server"), std::vector<std::string>{dir_->file("redis.conf")}, log_path);
  bool exited = false;
  // Any reply proves the server is up, NOAUTH included: credentials are the test's business.
  const bool answered = wait_until(
      [&] {
        if (!child_->running()) {
          exited = true;
          return true;
        }
        try {
          return !run({"PING"}, false, std::chrono::milliseconds(500)).empty();
        } catch (const std::runtime_error&) {
          return false;
        }
      },
      kStartTimeout);
  if (answered && !exited) return true;
  const std::string log = child_->log();
  if (exited && log.find("Address already in use") != std::string::npos) return false;
  kill();
  throw std::runtime_error(
      "redis-server on 127.0.0.1:" + std::to_string(port_) + (options_.tls ? " (TLS)" : "") +
      (exited ? " exited during start-up" : " did not answer PING within 10 s") + "; its log:\n" +
      log);
}

void RedisServer::write_config() const {
  std::ofstream conf(dir_->file("redis.conf"), std::ios::trunc);
  conf << "bind 127.0.0.1\n"
       << "protected-mode no\n"
       << "daemonize no\n"
       << "logfile \"\"\n"
       << "dir " << quote(dir_->path()) << "\n"
       << "save " << (options_.save.empty() ? "\"\"" : options_.save) << "\n"
       << "appendonly " << (options_.appendonly ? "yes" : "no") << "\n"
       << "appendfsync always\n";
  if (options_.tls) {
    conf << "port 0\n"
         << "tls-port " << port_ << "\n"
         << "tls-cert-file " << quote(cert_file_) << "\n"
         << "tls-key-file " << quote(key_file_) << "\n"
         << "tls-ca-cert-file " << quote(ca_->ca_file()) << "\n"
         << "tls-auth-clients no\n";
  } else {
    conf << "port " << port_ << "\n";
  }
  if (!options_.password.empty()) conf << "requirepass " << quote(options_.password) << "\n";
  if (!options_.acl_user.empty()) {
    if (options_.password.empty()) conf << "user default off\n";
    conf << "user " << quote(options_.acl_user) << " on " << quote(">" + options_.acl_password)
         << " ~* &* +@all\n";
  }
  if (!conf.flush()) throw std::runtime_error("cannot write " + dir_->file("redis.conf"));
}

std::string RedisServer::command(const std::vector<std::string>& args,
                                 std::chrono::milliseconds timeout) const {
  return run(args, true, timeout);
}

std::string RedisServer::command_without_auth(const std::vector<std::string>& args,
                                              std::chrono::milliseconds timeout) const {
  return run(args, false, timeout);
}

std::string RedisServer::run(const std::vector<std::string>& args, bool auth,
                             std::chrono::milliseconds timeout) const {
  if (args.empty()) throw std::invalid_argument("RedisServer::command needs a command");
  const bool has_credentials = !options_.acl_user.empty() || !options_.password.empty();
  auth = auth && has_credentials;
  return options_.tls ? run_cli(args, auth, timeout) : run_plain(args, auth, timeout);
}

std::string RedisServer::run_plain(const std::vector<std::string>& args, bool auth,
                                   std::chrono::milliseconds timeout) const {
  const std::string where = "127.0.0.1:" + std::to_string(port_);
  const timeval tv = to_timeval(timeout);
  Context ctx(redisConnectWithTimeout("127.0.0.1", port_, tv));
  if (!ctx) throw std::runtime_error("redis at " + where + ": cannot allocate a context");
  if (ctx->err) throw std::runtime_error("redis at " + where + ": connect: " + ctx->errstr);
  // Without a read timeout a paused server would block the test forever.
  redisSetTimeout(ctx.get(), tv);
  if (auth) {
    std::vector<std::string> auth_args{"AUTH"};
    if (!options_.acl_user.empty()) {
      auth_args.push_back(options_.acl_user);
      auth_args.push_back(options_.acl_password);
    } else {
      auth_args.push_back(options_.password);
    }
    Reply reply = call(ctx.get(), auth_args, where);
    if (reply->type == REDIS_REPLY_ERROR) {
      throw std::runtime_error("redis at " + where + ": AUTH failed: " + render(reply.get()));
    }
  }
  return render(call(ctx.get(), args, where).get());
}

std::string RedisServer::run_cli(const std::vector<std::string>& args, bool auth,
                                 std::chrono::milliseconds timeout) const {
  static std::atomic<int> calls{0};
  std::vector<std::string> cli{"--tls",     "--cacert", ca_->ca_file(),       "-h",
                               "127.0.0.1", "-p",       std::to_string(port_)};
  if (auth) {
    if (!options_.acl_user.empty()) {
      cli.insert(cli.end(), {"--user", options_.acl_user, "--pass", options_.acl_password});
    } else {
      cli.insert(cli.end(), {"--pass", options_.password});
    }
    cli.push_back("--no-auth-warning");
  }
  cli.insert(cli.end(), args.begin(), args.end());

  const std::string log_path = dir_->file("redis-cli." + std::to_string(++calls) + ".log");
  std::string output;
  int status = -1;
  {
    ChildProcess child(require_binary("redis-cli"), cli, log_path);
    status = child.wait_exit(timeout);
    output = child.log();
  }
  std::remove(log_path.c_str());

  const std::string where = "redis-cli --tls -p " + std::to_string(port_) + " " + args.front();
  if (status == -1) {
    throw std::runtime_error(where + ": no reply within " + std::to_string(timeout.count()) +
                             " ms");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(where + ": " + output);
  if (output.find("AUTH failed:") != std::string::npos) {
    throw std::runtime_error(where + ": " + output);
  }
  if (!output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

}  // namespace jobgw::testing
