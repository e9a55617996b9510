#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "jobgw/v1/job_gateway.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"

namespace jobgw::testing {

struct StackOptions {
  int hosts = 5;
  std::vector<std::string> jobsim_args;
  std::vector<std::string> jobgw_args;
  // Serve JOB callbacks on an ephemeral port and give JOB that URL on every submit.
  bool callback = false;
  // The credentials file's JSON (written to the stack's temp dir as credentials.json): jobgw then
  // authenticates every call. Empty: jobgw runs with --insecure-dev, every call anonymous.
  std::string credentials_json;
  // jobgw processes; more than one share state on a Redis the stack starts (replicas).
  int replicas = 1;
  // Start that Redis (and pass state.redis_url) even for one replica.
  bool redis = false;
  RedisServerOptions redis_options;
  // Arguments for one node only (index = node), after the shared ones.
  std::vector<std::vector<std::string>> node_args;
};

class GatewayStack;

// One jobgw process of a stack, with its own ports, state file, logs and gRPC stub.
class JobgwNode {
 public:
  JobgwNode(GatewayStack& stack, int index, std::vector<std::string> own_args = {});
  ~JobgwNode();

  v1::JobGateway::Stub& stub() { return *stub_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  int callback_port() const { return callback_port_; }
  int http_port() const { return http_port_; }
  ChildProcess& process() { return *process_; }
  bool running() const { return process_ != nullptr && running_; }
  const std::string& name() const { return name_; }
  // This node's SQLite state file, in the stack's temp dir.
  std::string state_path() const;
  // Every run's log so far.
  std::string logs() const;

  // Starts with the stack's arguments plus `extra` and waits for the ports file.
  void start(const std::vector<std::string>& extra = {});
  // Stops with `signal` (SIGTERM: waits for the clean exit; SIGKILL: no shutdown at all);
  // returns the wait status.
  int stop(int signal);
  // Starts again with the same arguments, state file, gRPC port and callback port.
  void start_again();
  void use_grpc_credentials(std::shared_ptr<grpc::ChannelCredentials> credentials);

 private:
  GatewayStack& stack_;
  const int index_;
  const std::string name_;
  const std::vector<std::string> own_args_;
  std::unique_ptr<ChildProcess> process_;
  bool running_ = false;
  int starts_ = 0;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  int callback_port_ = 0;
  int http_port_ = 0;
  std::string old_logs_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::JobGateway::Stub> stub_;
};

// Three simulated hosts (enough for behaviour tests), extra arguments for jobsim and jobgw.
inline StackOptions three_hosts(std::vector<std::string> jobsim_args = {},
                                std::vector<std::string> jobgw_args = {}) {
  StackOptions options;
  options.hosts = 3;
  options.jobsim_args = std::move(jobsim_args);
  options.jobgw_args = std::move(jobgw_args);
  return options;
}

// `n` replicas on one Redis, with three simulated hosts.
inline StackOptions replicas(int n, std::vector<std::string> jobsim_args = {},
                             std::vector<std::string> jobgw_args = {}) {
  StackOptions options = three_hosts(std::move(jobsim_args), std::move(jobgw_args));
  options.replicas = n;
  return options;
}

// Two replicas behind one callback address, as behind one Service: both share the callback
// key (a file in `dir`), and replica 0 gives JOB replica 1's callback address, so JOB's callback
// for a job replica 0 submits lands on replica 1.
StackOptions two_replicas_called_back_on_the_second(const TempDir& dir,
                                                    std::vector<std::string> jobgw_args = {});

// jobsim and jobgw (or several, on a Redis) as real processes on 127.0.0.1 ephemeral ports,
// plus gRPC stubs. The methods without a node name the first jobgw.
class GatewayStack {
 public:
  explicit GatewayStack(StackOptions options = {});
  ~GatewayStack();

  JobgwNode& node(int index) { return *nodes_.at(static_cast<std::size_t>(index)); }
  int replicas() const { return static_cast<int>(nodes_.size()); }
  // The Redis the replicas share; null unless the stack has one.
  RedisServer* redis() { return redis_.get(); }

  v1::JobGateway::Stub& stub() { return node(0).stub(); }
  // stub() and channel() (also after restarts) use these credentials instead of plaintext; a TLS
  // stack's server certificate names 127.0.0.1, the address they dial.
  void use_grpc_credentials(std::shared_ptr<grpc::ChannelCredentials> credentials);
  std::shared_ptr<grpc::Channel> channel() { return node(0).channel(); }
  int jobsim_port() const { return jobsim_port_; }
  int grpc_port() const { return nodes_[0]->grpc_port(); }
  int metrics_port() const { return nodes_[0]->metrics_port(); }
  ChildProcess& jobgw() { return node(0).process(); }
  int callback_port() const { return nodes_[0]->callback_port(); }
  int http_port() const { return nodes_[0]->http_port(); }
  std::string logs() const;
  // Every log line jobsim and jobgw (each run) wrote so far, and the audit file's content.
  std::string all_logs() const;
  std::string audit_log() const;

  // The credentials file jobgw reads (rewrite it to test reloading) and the audit file.
  std::string credentials_path() const { return dir_.file("credentials.json"); }
  std::string audit_path() const { return dir_.file("audit.log"); }

  // The SQLite state file the first jobgw uses (its own, in the stack's temp dir, unless
  // jobgw_args name another state.path).
  std::string state_path() const { return nodes_[0]->state_path(); }
  // Stops jobgw with `signal` (SIGTERM: waits for its own clean exit; SIGKILL: no shutdown at
  // all) and starts it again with the same arguments, state file, gRPC port and callback port.
  // stub() and channel() are replaced by fresh ones; metrics_port() changes.
  void restart_jobgw(int signal);
  // The two halves of restart_jobgw, for tests that act while jobgw is down. stop_jobgw
  // returns the wait status.
  int stop_jobgw(int signal);
  void start_jobgw_again();

  // Stops jobsim and starts a fresh one on the same port (same flags, a new data dir): its job
  // ids start again at 10001, as a JOB restored from a backup or replaced behind one URL would
  // hand out ids it gave before.
  void restart_jobsim();

  nlohmann::json jobsim_stats() const;
  std::int64_t status_reads(std::int64_t job_instance_id) const;
  void set_faults(const std::vector<std::string>& specs) const;
  void clear_faults() const;

 private:
  friend class JobgwNode;
  // Starts jobsim with sim_args_ on `listen` and waits for its port file.
  void start_jobsim(const std::string& listen);

  TempDir dir_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<ChildProcess> jobsim_;
  int jobsim_port_ = 0;
  std::vector<std::string> gw_args_;
  std::vector<std::string> sim_args_;
  int jobsim_starts_ = 0;
  std::string old_jobsim_logs_;
  std::shared_ptr<grpc::ChannelCredentials> grpc_credentials_;
  std::vector<std::unique_ptr<JobgwNode>> nodes_;
};

// The jobgw binary the stack runs, for tests that start it by hand (e.g. to see it refuse).
const char* jobgw_binary();

// A bash script request for hosts 101.. in scope biz:1.
v1::ExecuteScriptRequest script_request(const std::string& script,
                                        const std::vector<std::int64_t>& host_ids);

struct Submitted {
  grpc::Status status;
  v1::JobRef ref;
};

// One ExecuteScript with a 30 s deadline.
Submitted execute(v1::JobGateway::Stub& stub, const v1::ExecuteScriptRequest& request);

// How many calls of JOB's `api` (fast_execute_script, ...) reached jobsim.
std::int64_t submits_reaching_job(const GatewayStack& stack, const std::string& api);

struct WatchResult {
  std::vector<v1::StatusEvent> events;
  grpc::Status status;
};

// Reads a WatchStatus stream to its end (or `timeout`).
WatchResult watch_to_end(v1::JobGateway::Stub& stub, std::int64_t job_instance_id,
                         std::uint64_t after_seq = 0,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60),
                         v1::WatchDetail detail = v1::WATCH_DETAIL_UNSPECIFIED);

std::string trailing(const grpc::ClientContext& context, const std::string& key);

// Adds "authorization: Bearer <token>" to a call.
void bearer(grpc::ClientContext& context, const std::string& token);

}  // namespace jobgw::testing
