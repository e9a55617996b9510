#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace jobsim {

// Counters for benchmarks: how often each endpoint was asked, status reads per job, faults
// injected, callbacks sent. Shapes in jobsim/README.md.
class Stats {
 public:
  void request(const std::string& endpoint, const std::string& mode);
  // now_ms: when it arrived (Unix ms); reads are also counted per wall-clock second so a
  // benchmark can check a read budget second by second.
  void status_read(int64_t job_id, int64_t now_ms);
  // A get_job_instance_list request: it reads job status too, under the same budget, so it
  // counts in the per-second reads (not per job).
  void list_read(int64_t now_ms);
  void fault(const std::string& kind);
  void callback(const std::string& outcome);  // "attempts", "delivered", "failed", "retries"
  void reset();
  nlohmann::json to_json() const;
  uint64_t requests(const std::string& endpoint) const;

 private:
  void count_second_locked(int64_t now_ms);

  mutable std::mutex mu_;
  std::map<std::string, uint64_t> requests_;
  std::map<std::string, uint64_t> by_mode_;
  std::map<int64_t, uint64_t> status_reads_;
  std::map<int64_t, uint64_t> status_reads_by_second_;  // Unix second -> reads; the last hour
  std::map<std::string, uint64_t> faults_;
  std::map<std::string, uint64_t> callbacks_;
};

}  // namespace jobsim
