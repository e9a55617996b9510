#include "jobsim/faults.h"

#include <stdexcept>

namespace jobsim {

namespace {

const char* kEndpoints[] = {"fast_execute_script",     "fast_transfer_file",
                            "get_job_instance_status", "batch_get_job_instance_ip_log",
                            "get_job_instance_ip_log", "operate_job_instance",
                            "execute_job_plan",        "get_job_plan_list",
                            "get_job_plan_detail",     "get_job_instance_global_var_value",
                            "get_job_instance_list",   "operate_step_instance"};

int64_t parse_int(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument(what + ": \"" + s + "\" is not an integer");
}

}  // namespace

const char* fault_kind_name(FaultKind kind) {
  switch (kind) {
    case FaultKind::kLatency:
      return "latency";
    case FaultKind::kThrottle:
      return "throttle";
    case FaultKind::kStatus:
      return "status";
    case FaultKind::kHtml:
      return "html";
    case FaultKind::kTruncate:
      return "truncate";
    case FaultKind::kReset:
      return "reset";
    case FaultKind::kCode:
      return "code";
  }
  return "unknown";
}

FaultRule parse_fault_spec(const std::string& spec) {
  FaultRule r;
  r.spec = spec;
  size_t colon = spec.find(':');
  if (colon == std::string::npos) {
    throw std::invalid_argument("fault spec \"" + spec +
                                "\": expected ENDPOINT:KIND[=VALUE][@RATE][#MAX]");
  }
  r.endpoint = spec.substr(0, colon);
  bool known = r.endpoint == "*";
  for (const char* e : kEndpoints) known = known || r.endpoint == e;
  if (!known)
    throw std::invalid_argument("fault spec \"" + spec + "\": unknown endpoint \"" + r.endpoint +
                                "\"");
  std::string rest = spec.substr(colon + 1);
  size_t hash = rest.find('#');
  if (hash != std::string::npos) {
    r.max = parse_int(rest.substr(hash + 1), "fault spec \"" + spec + "\" #MAX");
    if (r.max < 0) throw std::invalid_argument("fault spec \"" + spec + "\": #MAX must be >= 0");
    rest = rest.substr(0, hash);
  }
  size_t at = rest.find('@');
  if (at != std::string::npos) {
    std::string rate = rest.substr(at + 1);
    try {
      size_t used = 0;
      r.rate = std::stod(rate, &used);
      if (used != rate.size()) throw std::invalid_argument("");
    } catch (const std::exception&) {
      throw std::invalid_argument("fault spec \"" + spec + "\": @RATE \"" + rate +
                                  "\" is not a number");
    }
    if (!(r.rate >= 0.0 && r.rate <= 1.0)) {
      throw std::invalid_argument("fault spec \"" + spec + "\": @RATE must be within 0..1");
    }
    rest = rest.substr(0, at);
  }
  std::string kind = rest, value;
  size_t eq = rest.find('=');
  if (eq != std::string::npos) {
    kind = rest.substr(0, eq);
    value = rest.substr(eq + 1);
  }
  auto need_value = [&](int64_t lo, int64_t hi) {
    if (value.empty())
      throw std::invalid_argument("fault spec \"" + spec + "\": " + kind + " needs =VALUE");
    r.value = parse_int(value, "fault spec \"" + spec + "\"");
    if (r.value < lo || r.value > hi) {
      throw std::invalid_argument("fault spec \"" + spec + "\": value must be within " +
                                  std::to_string(lo) + ".." + std::to_string(hi));
    }
  };
  auto no_value = [&] {
    if (!value.empty())
      throw std::invalid_argument("fault spec \"" + spec + "\": " + kind + " takes no value");
  };
  if (kind == "latency") {
    r.kind = FaultKind::kLatency;
    need_value(0, 600000);
  } else if (kind == "throttle") {
    r.kind = FaultKind::kThrottle;
    if (value.empty()) {
      r.value = 1;
    } else {
      need_value(0, 86400);
    }
  } else if (kind == "status") {
    r.kind = FaultKind::kStatus;
    need_value(400, 599);
  } else if (kind == "html") {
    r.kind = FaultKind::kHtml;
    need_value(400, 599);
  } else if (kind == "truncate") {
    r.kind = FaultKind::kTruncate;
    no_value();
  } else if (kind == "reset") {
    r.kind = FaultKind::kReset;
    no_value();
  } else if (kind == "code") {
    r.kind = FaultKind::kCode;
    need_value(1, 9999999999LL);
  } else {
    throw std::invalid_argument("fault spec \"" + spec + "\": unknown kind \"" + kind +
                                "\" (latency, throttle, status, html, truncate, reset, code)");
  }
  return r;
}

nlohmann::json fault_to_json(const FaultRule& r) {
  return {{"spec", r.spec},        {"endpoint", r.endpoint}, {"kind", fault_kind_name(r.kind)},
          {"value", r.value},      {"rate", r.rate},         {"max", r.max},
          {"injected", r.injected}};
}

void FaultInjector::add(const FaultRule& rule) {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.push_back(rule);
}

void FaultInjector::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.clear();
}

void FaultInjector::reseed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mu_);
  seed_ = seed;
  rng_.seed(seed);
}

uint64_t FaultInjector::seed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seed_;
}

std::vector<FaultRule> FaultInjector::rules() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rules_;
}

FaultDecision FaultInjector::decide(const std::string& endpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  FaultDecision d;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (auto& r : rules_) {
    if (r.endpoint != "*" && r.endpoint != endpoint) continue;
    if (r.max >= 0 && r.injected >= static_cast<uint64_t>(r.max)) continue;
    double draw = uniform(rng_);
    bool fires = r.rate >= 1.0 || draw < r.rate;
    if (!fires) continue;
    if (r.kind == FaultKind::kLatency) {
      d.latency_ms += r.value;
      ++r.injected;
    } else if (!d.action) {
      ++r.injected;
      d.action = r;
    }
  }
  return d;
}

}  // namespace jobsim
