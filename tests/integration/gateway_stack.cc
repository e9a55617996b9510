#include "tests/integration/gateway_stack.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/support/http_client.h"
#include "tests/support/wait.h"

namespace jobgw::testing {

namespace {

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str(), nullptr, false);
}

}  // namespace

GatewayStack::GatewayStack(StackOptions options) : dir_("jobgw-it") {
  sim_args_ = {"--hosts", std::to_string(options.hosts), "--log-level", "info"};
  sim_args_.insert(sim_args_.end(), options.jobsim_args.begin(), options.jobsim_args.end());
  start_jobsim("127.0.0.1:0");

  gw_args_ = {
      "--grpc.listen=127.0.0.1:0",
      "--metrics.listen=127.0.0.1:0",
      "--http.listen=127.0.0.1:0",
      "--job.base_url=http://127.0.0.1:" + std::to_string(jobsim_port_),
      "--log.level=debug",
      "--audit.path=" + audit_path(),
      // The suites submit as fast as they can as one caller; the per-caller limit has tests of
      // its own, which set it again (later flags win).
      "--limits.caller_submits_per_second=0",
  };
  if (options.credentials_json.empty()) {
    gw_args_.push_back("--insecure-dev");
  } else {
    std::ofstream(credentials_path()) << options.credentials_json;
    gw_args_.push_back("--auth.credentials_file=" + credentials_path());
  }
  grpc_credentials_ = grpc::InsecureChannelCredentials();
  if (options.callback) gw_args_.push_back("--callback.listen=127.0.0.1:0");
  if (options.redis || options.replicas > 1) {
    redis_ = std::make_unique<RedisServer>(options.redis_options);
    gw_args_.push_back("--state.redis_url=" + redis_->url());
  }
  gw_args_.insert(gw_args_.end(), options.jobgw_args.begin(), options.jobgw_args.end());
  for (int i = 0; i < std::max(1, options.replicas); ++i) {
    std::vector<std::string> own;
    if (static_cast<std::size_t>(i) < options.node_args.size()) own = options.node_args[i];
    nodes_.push_back(std::make_unique<JobgwNode>(*this, i, std::move(own)));
    nodes_.back()->start();
  }
}

void GatewayStack::start_jobsim(const std::string& listen) {
  const std::string run = std::to_string(++jobsim_starts_);
  std::vector<std::string> args = {"--listen",    listen,
                                   "--port-file", dir_.file("jobsim.port"),
                                   "--data-dir",  dir_.file("sim-data-" + run)};
  args.insert(args.end(), sim_args_.begin(), sim_args_.end());
  std::remove(dir_.file("jobsim.port").c_str());
  jobsim_ =
      std::make_unique<ChildProcess>(JOBSIM_BINARY, args, dir_.file("jobsim." + run + ".log"));
  jobsim_port_ = wait_for_port_file(dir_.file("jobsim.port"), std::chrono::seconds(20));
  if (jobsim_port_ == 0) throw std::runtime_error("jobsim did not start: " + jobsim_->log());
}

void GatewayStack::restart_jobsim() {
  jobsim_->stop();
  old_jobsim_logs_ +=
      "--- jobsim log (run " + std::to_string(jobsim_starts_) + ") ---\n" + jobsim_->log();
  start_jobsim("127.0.0.1:" + std::to_string(jobsim_port_));
}

// The first node keeps the names a one-jobgw stack always had (jobgw.ports, jobgw-state.db).
JobgwNode::JobgwNode(GatewayStack& stack, int index, std::vector<std::string> own_args)
    : stack_(stack),
      index_(index),
      name_(index == 0 ? "jobgw" : "jobgw-" + std::to_string(index)),
      own_args_(std::move(own_args)) {
  credentials_ = stack_.grpc_credentials_;
}

JobgwNode::~JobgwNode() {
  stub_.reset();
  channel_.reset();
  if (process_) process_->stop();
}

std::string JobgwNode::state_path() const {
  return stack_.dir_.file(index_ == 0 ? "jobgw-state.db" : name_ + "-state.db");
}

void JobgwNode::start(const std::vector<std::string>& extra) {
  const std::string ports_file = stack_.dir_.file(name_ + ".ports");
  std::vector<std::string> args = stack_.gw_args_;
  args.insert(args.begin(), {"--ports_file=" + ports_file, "--state.path=" + state_path(),
                             "--state.replica_id=" + name_});
  args.insert(args.end(), own_args_.begin(), own_args_.end());
  args.insert(args.end(), extra.begin(), extra.end());
  std::remove(ports_file.c_str());
  const std::string log = stack_.dir_.file(name_ + "." + std::to_string(++starts_) + ".log");
  process_ = std::make_unique<ChildProcess>(JOBGW_BINARY, args, log);
  running_ = true;
  nlohmann::json ports;
  bool up = wait_until(
      [&] {
        ports = read_json_file(ports_file);
        return ports.is_object() && ports.contains("grpc");
      },
      std::chrono::seconds(20));
  if (!up) throw std::runtime_error(name_ + " did not start: " + process_->log());
  grpc_port_ = ports["grpc"].get<int>();
  metrics_port_ = 0;
  if (ports.contains("metrics") && ports["metrics"].is_number()) {
    metrics_port_ = ports["metrics"].get<int>();
  }
  if (ports.contains("callback") && ports["callback"].is_number()) {
    callback_port_ = ports["callback"].get<int>();
  }
  http_port_ = 0;
  if (ports.contains("http") && ports["http"].is_number()) http_port_ = ports["http"].get<int>();
  use_grpc_credentials(credentials_);
}

void JobgwNode::use_grpc_credentials(std::shared_ptr<grpc::ChannelCredentials> credentials) {
  credentials_ = std::move(credentials);
  channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_port_), credentials_);
  stub_ = v1::JobGateway::NewStub(channel_);
}

int JobgwNode::stop(int signal) {
  process_->signal_group(signal);
  int status = process_->wait_exit(std::chrono::seconds(30));
  if (status == -1) status = process_->stop();
  running_ = false;
  old_logs_ +=
      "--- " + name_ + " log (run " + std::to_string(starts_) + ") ---\n" + process_->log();
  stub_.reset();
  channel_.reset();
  return status;
}

void JobgwNode::start_again() {
  // Same gRPC port, so clients reconnect to the address they know; same callback port, so
  // JOB's callbacks for jobs submitted before the restart still arrive. Later flags win.
  std::vector<std::string> extra = {"--grpc.listen=127.0.0.1:" + std::to_string(grpc_port_)};
  if (callback_port_ != 0) {
    extra.push_back("--callback.listen=127.0.0.1:" + std::to_string(callback_port_));
  }
  start(extra);
}

std::string JobgwNode::logs() const {
  return old_logs_ + (running_ ? "--- " + name_ + " log ---\n" + process_->log() : "");
}

void GatewayStack::use_grpc_credentials(std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc_credentials_ = credentials;
  for (auto& n : nodes_) n->use_grpc_credentials(credentials);
}

int GatewayStack::stop_jobgw(int signal) { return node(0).stop(signal); }

void GatewayStack::start_jobgw_again() { node(0).start_again(); }

void GatewayStack::restart_jobgw(int signal) {
  stop_jobgw(signal);
  start_jobgw_again();
}

GatewayStack::~GatewayStack() {
  nodes_.clear();
  if (jobsim_) jobsim_->stop();
}

std::string GatewayStack::logs() const {
  std::string out;
  for (const auto& n : nodes_) out += n->logs() + "\n";
  return out + old_jobsim_logs_ + "--- jobsim log ---\n" + jobsim_->log();
}

std::string GatewayStack::all_logs() const { return logs() + "\n" + audit_log(); }

std::string GatewayStack::audit_log() const {
  std::ifstream in(audit_path());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json GatewayStack::jobsim_stats() const {
  HttpResponse r = http_get(jobsim_port_, "/jobsim/stats");
  return nlohmann::json::parse(r.body, nullptr, false);
}

std::int64_t GatewayStack::status_reads(std::int64_t job_instance_id) const {
  nlohmann::json stats = jobsim_stats();
  std::string key = std::to_string(job_instance_id);
  if (!stats.is_object() || !stats["status_reads"].contains(key)) return 0;
  return stats["status_reads"][key].get<std::int64_t>();
}

void GatewayStack::set_faults(const std::vector<std::string>& specs) const {
  nlohmann::json body = {{"specs", specs}, {"replace", true}, {"seed", 7}};
  HttpResponse r = http_post_json(jobsim_port_, "/jobsim/admin/faults", body.dump());
  if (r.status != 200) throw std::runtime_error("setting faults failed: " + r.body);
}

void GatewayStack::clear_faults() const {
  HttpResponse r = http_delete(jobsim_port_, "/jobsim/admin/faults");
  if (r.status != 200) throw std::runtime_error("clearing faults failed: " + r.body);
}

const char* jobgw_binary() { return JOBGW_BINARY; }

v1::ExecuteScriptRequest script_request(const std::string& script,
                                        const std::vector<std::int64_t>& host_ids) {
  v1::ExecuteScriptRequest r;
  r.mutable_scope()->set_type("biz");
  r.mutable_scope()->set_id("1");
  r.set_script_content(script);
  r.set_script_language(v1::SCRIPT_LANGUAGE_SHELL);
  r.set_task_name("integration");
  for (auto id : host_ids) r.mutable_targets()->add_host_ids(id);
  return r;
}

Submitted execute(v1::JobGateway::Stub& stub, const v1::ExecuteScriptRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  Submitted out;
  out.status = stub.ExecuteScript(&context, request, &out.ref);
  return out;
}

std::int64_t submits_reaching_job(const GatewayStack& stack, const std::string& api) {
  nlohmann::json stats = stack.jobsim_stats();
  if (!stats.is_object() || !stats["requests"].contains(api)) return 0;
  return stats["requests"][api].get<std::int64_t>();
}

StackOptions two_replicas_called_back_on_the_second(const TempDir& dir,
                                                    std::vector<std::string> jobgw_args) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const int port = acceptor.local_endpoint().port();
  acceptor.close();
  jobgw_args.push_back("--callback.secret_file=" + dir.file("callback.key"));
  StackOptions options = replicas(2, {}, std::move(jobgw_args));
  options.node_args = {
      {"--callback.listen=127.0.0.1:0",
       "--callback.public_url=http://127.0.0.1:" + std::to_string(port) + "/jobgw/v1/callback"},
      {"--callback.listen=127.0.0.1:" + std::to_string(port)}};
  return options;
}

WatchResult watch_to_end(v1::JobGateway::Stub& stub, std::int64_t job_instance_id,
                         std::uint64_t after_seq, std::chrono::milliseconds timeout,
                         v1::WatchDetail detail) {
  WatchResult out;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  v1::WatchStatusRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(job_instance_id);
  request.set_after_seq(after_seq);
  request.set_detail(detail);
  auto reader = stub.WatchStatus(&context, request);
  v1::StatusEvent event;
  while (reader->Read(&event)) out.events.push_back(event);
  out.status = reader->Finish();
  return out;
}

void bearer(grpc::ClientContext& context, const std::string& token) {
  context.AddMetadata("authorization", "Bearer " + token);
}

std::string trailing(const grpc::ClientContext& context, const std::string& key) {
  const auto& md = context.GetServerTrailingMetadata();
  auto it = md.find(key);
  if (it == md.end()) return {};
  return std::string(it->second.data(), it->second.size());
}

}  // namespace jobgw::testing
