#include "tests/integration/stack_probes.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "tests/support/http_client.h"

namespace jobgw::testing {
namespace {

std::string base64(const std::string& in) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

DirectJob jobsim_submit_script(const GatewayStack& stack, const std::string& script,
                               const std::vector<std::int64_t>& host_ids) {
  nlohmann::json body = {{"bk_scope_type", "biz"},
                         {"bk_scope_id", "1"},
                         {"account_alias", "root"},
                         {"script_language", 1},
                         {"script_content", base64(script)},
                         {"task_name", "direct"},
                         {"target_server", {{"host_id_list", host_ids}}}};
  HttpResponse r = http_post_json(stack.jobsim_port(), "/api/v3/fast_execute_script/", body.dump());
  auto answer = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status != 200 || !answer.is_object() || answer.value("result", false) != true) {
    throw std::runtime_error("direct submit to jobsim failed: " + r.error + " " + r.body);
  }
  return DirectJob{answer["data"]["job_instance_id"].get<std::int64_t>(),
                   answer["data"]["step_instance_id"].get<std::int64_t>()};
}

DirectJob jobsim_plan_at_confirmation(const GatewayStack& stack) {
  nlohmann::json body = {{"bk_scope_type", "biz"}, {"bk_scope_id", "1"}, {"job_plan_id", 1}};
  HttpResponse r = http_post_json(stack.jobsim_port(), "/api/v3/execute_job_plan/", body.dump());
  auto answer = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status != 200 || !answer.is_object() || answer.value("result", false) != true) {
    throw std::runtime_error("direct plan run on jobsim failed: " + r.error + " " + r.body);
  }
  const auto job = answer["data"]["job_instance_id"].get<std::int64_t>();
  const std::string status_target =
      "/api/v3/get_job_instance_status/?bk_scope_type=biz&bk_scope_id=1&job_instance_id=" +
      std::to_string(job);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until) {
    auto status =
        nlohmann::json::parse(http_get(stack.jobsim_port(), status_target).body, nullptr, false);
    if (status.is_object() && status["data"].is_object()) {
      for (const auto& step : status["data"].value("step_instance_list", nlohmann::json::array())) {
        if (step.value("type", 0) == 3 && step.value("status", 0) == 7) {
          return DirectJob{job, step["step_instance_id"].get<std::int64_t>()};
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("plan job " + std::to_string(job) + " never waited for confirmation");
}

bool jobsim_operate_step(const GatewayStack& stack, const DirectJob& step, int operation_code) {
  nlohmann::json body = {{"bk_scope_type", "biz"},
                         {"bk_scope_id", "1"},
                         {"job_instance_id", step.job_instance_id},
                         {"step_instance_id", step.step_instance_id},
                         {"operation_code", operation_code}};
  HttpResponse r =
      http_post_json(stack.jobsim_port(), "/api/v3/operate_step_instance/", body.dump());
  auto answer = nlohmann::json::parse(r.body, nullptr, false);
  return r.status == 200 && answer.is_object() && answer.value("result", false) == true;
}

bool jobsim_terminate(const GatewayStack& stack, std::int64_t job_instance_id) {
  nlohmann::json body = {{"bk_scope_type", "biz"},
                         {"bk_scope_id", "1"},
                         {"job_instance_id", job_instance_id},
                         {"operation_code", 1}};
  HttpResponse r =
      http_post_json(stack.jobsim_port(), "/api/v3/operate_job_instance/", body.dump());
  auto answer = nlohmann::json::parse(r.body, nullptr, false);
  return r.status == 200 && answer.is_object() && answer.value("result", false) == true;
}

std::int64_t jobsim_requests(const GatewayStack& stack, const std::string& api) {
  nlohmann::json stats = stack.jobsim_stats();
  if (!stats.is_object() || !stats.contains("requests") || !stats["requests"].contains(api)) {
    return 0;
  }
  return stats["requests"][api].get<std::int64_t>();
}

std::string jobgw_metrics(const GatewayStack& stack) {
  return http_get(stack.metrics_port(), "/metrics").body;
}

StreamWatcher::StreamWatcher(v1::JobGateway::Stub& stub, std::int64_t job_instance_id,
                             std::chrono::seconds timeout, const std::string& token) {
  context_.set_deadline(std::chrono::system_clock::now() + timeout);
  if (!token.empty()) bearer(context_, token);
  v1::WatchStatusRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(job_instance_id);
  reader_ = stub.WatchStatus(&context_, request);
  thread_ = std::thread([this] {
    v1::StatusEvent event;
    while (reader_->Read(&event)) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(event);
    }
    grpc::Status status = reader_->Finish();
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    ended_ = true;
  });
}

StreamWatcher::~StreamWatcher() {
  context_.TryCancel();
  thread_.join();
}

bool StreamWatcher::ended() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ended_;
}

std::size_t StreamWatcher::event_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_.size();
}

grpc::Status StreamWatcher::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

std::vector<v1::StatusEvent> StreamWatcher::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      in >> kib;
      return kib;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return 0;
}

}  // namespace jobgw::testing
