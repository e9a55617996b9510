#pragma once

#include <optional>
#include <sstream>
#include <string>

#include "tests/support/http_client.h"

namespace jobgw::testing {

// jobgw's /metrics text, or "" when nothing answered.
inline std::string scrape_metrics(int metrics_port) {
  HttpResponse r = http_get(metrics_port, "/metrics");
  return r.status == 200 ? r.body : std::string();
}

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
