#pragma once

#include <sstream>
#include <string>

#include "tests/support/http_client.h"

namespace jobgw::testing {

// jobgw's /metrics text, or "" when nothing answered.
inline std::string scrape_metrics(int metrics_port) {
  HttpResponse r = http_get(metrics_port, "/metrics");
  return r.status == 200 ? r.body : std::string();
}

// The value of one series, named exactly as exported (`name{label="v"}` or `name`); -1 when
// the text has no such series.
inline double metric_value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

}  // namespace jobgw::testing
