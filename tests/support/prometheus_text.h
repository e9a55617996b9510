#pragma once

// Reading samples out of Prometheus's text format: for tests and the benchmark, which both check
// what jobgw's /metrics says. Header-only with no dependencies, so the benchmark can use it too.

#include <optional>
#include <sstream>
#include <string>

namespace jobgw::testing {

// One sample of the Prometheus text: `series` is the name with its labels exactly as exported
// (e.g. jobgw_admission_in_use{limit="limits.max_streams"}); nullopt when absent.
inline std::optional<double> metric_sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

// metric_sample, -1 when absent.
inline double metric_value(const std::string& text, const std::string& series) {
  return metric_sample(text, series).value_or(-1);
}

// The sum of every sample of a metric name, whatever its labels (0 when absent).
inline double metric_sum(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.size() <= name.size() || line.compare(0, name.size(), name) != 0) continue;
    const char next = line[name.size()];
    if (next != ' ' && next != '{') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

}  // namespace jobgw::testing
