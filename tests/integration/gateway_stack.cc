#include "tests/integration/gateway_stack.h"

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
      "--job.base_url=http://127.0.0.1:" + std::to_string(jobsim_port_),
      "--ports_file=" + dir_.file("jobgw.ports"),
      "--state.path=" + state_path(),
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
  gw_args_.insert(gw_args_.end(), options.jobgw_args.begin(), options.jobgw_args.end());
  start_jobgw({});
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
  old_logs_ += "--- jobsim log (run " + std::to_string(jobsim_starts_) + ") ---\n" + jobsim_->log();
  start_jobsim("127.0.0.1:" + std::to_string(jobsim_port_));
}

void GatewayStack::start_jobgw(const std::vector<std::string>& extra) {
  std::vector<std::string> args = gw_args_;
  args.insert(args.end(), extra.begin(), extra.end());
  std::remove(dir_.file("jobgw.ports").c_str());
  const std::string log = dir_.file("jobgw." + std::to_string(++jobgw_starts_) + ".log");
  jobgw_ = std::make_unique<ChildProcess>(JOBGW_BINARY, args, log);
  nlohmann::json ports;
  bool up = wait_until(
      [&] {
        ports = read_json_file(dir_.file("jobgw.ports"));
        return ports.is_object() && ports.contains("grpc");
      },
      std::chrono::seconds(20));
  if (!up) throw std::runtime_error("jobgw did not start: " + jobgw_->log());
  grpc_port_ = ports["grpc"].get<int>();
  metrics_port_ = 0;
  if (ports.contains("metrics") && ports["metrics"].is_number()) {
    metrics_port_ = ports["metrics"].get<int>();
  }
  if (ports.contains("callback") && ports["callback"].is_number()) {
    callback_port_ = ports["callback"].get<int>();
  }
  use_grpc_credentials(grpc_credentials_);
}

void GatewayStack::use_grpc_credentials(std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc_credentials_ = std::move(credentials);
  channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_port_), grpc_credentials_);
  stub_ = v1::JobGateway::NewStub(channel_);
}

int GatewayStack::stop_jobgw(int signal) {
  jobgw_->signal_group(signal);
  int status = jobgw_->wait_exit(std::chrono::seconds(30));
  if (status == -1) status = jobgw_->stop();
  old_logs_ += "--- jobgw log (run " + std::to_string(jobgw_starts_) + ") ---\n" + jobgw_->log();
  stub_.reset();
  channel_.reset();
  return status;
}

void GatewayStack::start_jobgw_again() {
  // Same gRPC port, so clients reconnect to the address they know; same callback port, so
  // JOB's callbacks for jobs submitted before the restart still arrive. Later flags win.
  std::vector<std::string> extra = {"--grpc.listen=127.0.0.1:" + std::to_string(grpc_port_)};
  if (callback_port_ != 0) {
    extra.push_back("--callback.listen=127.0.0.1:" + std::to_string(callback_port_));
  }
  start_jobgw(extra);
}

void GatewayStack::restart_jobgw(int signal) {
  stop_jobgw(signal);
  start_jobgw_again();
}

GatewayStack::~GatewayStack() {
  stub_.reset();
  channel_.reset();
  if (jobgw_) jobgw_->stop();
  if (jobsim_) jobsim_->stop();
}

std::string GatewayStack::logs() const {
  return old_logs_ + "--- jobgw log ---\n" + jobgw_->log() + "\n--- jobsim log ---\n" +
         jobsim_->log();
}

std::string GatewayStack::all_logs() const {
  return old_logs_ + jobgw_->log() + "\n" + jobsim_->log() + "\n" + audit_log();
}

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

WatchResult watch_to_end(v1::JobGateway::Stub& stub, std::int64_t job_instance_id,
                         std::uint64_t after_seq, std::chrono::milliseconds timeout) {
  WatchResult out;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  v1::WatchStatusRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(job_instance_id);
  request.set_after_seq(after_seq);
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
