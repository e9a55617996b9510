#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace jobgw::testing {

class ChildProcess;
class TempDir;
class TestCa;

struct RedisServerOptions {
  // requirepass: the default user's password. Empty: none.
  std::string password;
  // An ACL user with every key, channel and command. The default user is turned off unless
  // `password` is set too, so an anonymous connection always needs to authenticate.
  std::string acl_user;
  std::string acl_password;
  // Serve TLS only (the plain port is closed), with a certificate for 127.0.0.1 and localhost
  // from a CA made for this server; ca_file() is the trust root a client needs.
  bool tls = false;
  // AOF with fsync on every write, so acknowledged writes survive kill().
  bool appendonly = false;
  // The RDB "save" rule, e.g. "1 1". Empty: no snapshots.
  std::string save;
};

// A redis-server child on 127.0.0.1, with its config, log, data and certificates in a temp
// dir of its own. The constructor returns once the server answers PING and throws
// std::runtime_error (with redis's log) when it does not within 10 s. The destructor kills it.
// Not thread-safe, except that command() may run from several threads.
class RedisServer {
 public:
  using Options = RedisServerOptions;

  // True when redis-server is on PATH, for tests to skip on machines without it.
  static bool available();

  explicit RedisServer(Options options = Options());
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  // redis://[user:password@]127.0.0.1:PORT/0, or rediss:// with tls.
  std::string url() const;
  // The CA certificate (PEM) that signed the server's certificate; empty without tls.
  std::string ca_file() const;
  // The directory holding redis.conf, the logs, the AOF/RDB files and the certificates.
  const std::string& dir() const;
  // The pid of the last server started, running or not.
  pid_t pid() const;
  bool running();
  // The log of the current (or last) run.
  std::string log() const;

  // SIGKILL and reap: nothing is flushed beyond what appendfsync already wrote.
  void kill();
  // SIGTERM and reap, as a clean shutdown.
  void stop();
  // Starts again on the same port and dir (stopping the server first when it runs), so the
  // data it persisted comes back.
  void restart();
  // SIGSTOP / SIGCONT: connections are still accepted by the kernel but never answered.
  void pause();
  void resume();

  // Runs one command on a new connection, authenticated as url() says, and returns the reply
  // as `redis-cli` prints it when not on a terminal: strings, statuses and errors bare,
  // integers in decimal, nil as "", array elements one per line. An error reply is returned,
  // not thrown; a connection that fails or a reply slower than `timeout` throws
  // std::runtime_error. A TLS server is reached through `redis-cli --tls` (the installed
  // hiredis has no TLS), so each call there costs a process.
  std::string command(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(2)) const;
  // As command(), without authenticating: what an anonymous client gets.
  std::string command_without_auth(
      const std::vector<std::string>& args,
      std::chrono::milliseconds timeout = std::chrono::seconds(2)) const;

 private:
  void start();
  // False when another process holds port_; throws on any other failure to start.
  bool launch();
  void write_config() const;
  std::string run(const std::vector<std::string>& args, bool auth,
                  std::chrono::milliseconds timeout) const;
  std::string run_plain(const std::vector<std::string>& args, bool auth,
                        std::chrono::milliseconds timeout) const;
  std::string run_cli(const std::vector<std::string>& args, bool auth,
                      std::chrono::milliseconds timeout) const;

  Options options_;
  int port_ = 0;
  int runs_ = 0;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<TestCa> ca_;
  std::string cert_file_;
  std::string key_file_;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace jobgw::testing
