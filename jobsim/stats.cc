#include "jobsim/stats.h"

namespace jobsim {

void Stats::request(const std::string& endpoint, const std::string& mode) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[endpoint];
  ++by_mode_[mode];
}

void Stats::status_read(int64_t job_id, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  ++status_reads_[job_id];
  count_second_locked(now_ms);
}

void Stats::list_read(int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  count_second_locked(now_ms);
}

void Stats::count_second_locked(int64_t now_ms) {
  constexpr int64_t kKeepSeconds = 3600;
  const int64_t second = now_ms / 1000;
  ++status_reads_by_second_[second];
  while (!status_reads_by_second_.empty() &&
         status_reads_by_second_.begin()->first <= second - kKeepSeconds) {
    status_reads_by_second_.erase(status_reads_by_second_.begin());
  }
}

void Stats::fault(const std::string& kind) {
  std::lock_guard<std::mutex> lock(mu_);
  ++faults_[kind];
}

void Stats::callback(const std::string& outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  ++callbacks_[outcome];
}

void Stats::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.clear();
  by_mode_.clear();
  status_reads_.clear();
  status_reads_by_second_.clear();
  faults_.clear();
  callbacks_.clear();
}

uint64_t Stats::requests(const std::string& endpoint) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = requests_.find(endpoint);
  return it == requests_.end() ? 0 : it->second;
}

nlohmann::json Stats::to_json() const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json j;
  uint64_t total = 0;
  j["requests"] = nlohmann::json::object();
  for (auto& [k, v] : requests_) {
    j["requests"][k] = v;
    total += v;
  }
  j["requests_total"] = total;
  j["requests_by_mode"] = nlohmann::json::object();
  for (auto& [k, v] : by_mode_) j["requests_by_mode"][k] = v;
  j["status_reads"] = nlohmann::json::object();
  for (auto& [k, v] : status_reads_) j["status_reads"][std::to_string(k)] = v;
  j["status_reads_by_second"] = nlohmann::json::object();
  for (auto& [k, v] : status_reads_by_second_) {
    j["status_reads_by_second"][std::to_string(k)] = v;
  }
  j["faults_injected"] = nlohmann::json::object();
  uint64_t faults = 0;
  for (auto& [k, v] : faults_) {
    j["faults_injected"][k] = v;
    faults += v;
  }
  j["faults_injected_total"] = faults;
  j["callbacks"] = nlohmann::json::object();
  for (auto& [k, v] : callbacks_) j["callbacks"][k] = v;
  return j;
}

}  // namespace jobsim
