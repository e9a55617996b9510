#pragma once

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace jobsim {

enum class FaultKind { kLatency, kThrottle, kStatus, kHtml, kTruncate, kReset, kCode };

// One fault rule, from a spec `ENDPOINT:KIND[=VALUE][@RATE][#MAX]` (see jobsim/README.md):
//   latency=MS  throttle[=RETRY_AFTER_S]  status=HTTP  html=HTTP  truncate  reset  code=JOBCODE
struct FaultRule {
  std::string spec;
  std::string endpoint;  // one of the six API names, or "*"
  FaultKind kind = FaultKind::kLatency;
  int64_t value = 0;
  double rate = 1.0;
  int64_t max = -1;  // -1 = unlimited
  uint64_t injected = 0;
};

const char* fault_kind_name(FaultKind kind);
// Throws std::invalid_argument with a message saying what is wrong.
FaultRule parse_fault_spec(const std::string& spec);
nlohmann::json fault_to_json(const FaultRule& rule);

// What to do to one request: added latency, plus at most one failure.
struct FaultDecision {
  int64_t latency_ms = 0;
  std::optional<FaultRule> action;
};

// The active rules, drawing from one seeded RNG so a run is repeatable.
class FaultInjector {
 public:
  explicit FaultInjector(uint64_t seed) : seed_(seed), rng_(seed) {}

  void add(const FaultRule& rule);
  void clear();
  void reseed(uint64_t seed);
  uint64_t seed() const;
  std::vector<FaultRule> rules() const;
  // Rules are tried in order; each draws once. Latencies add up; the first other rule that
  // fires is the action.
  FaultDecision decide(const std::string& endpoint);

 private:
  mutable std::mutex mu_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<FaultRule> rules_;
};

}  // namespace jobsim
