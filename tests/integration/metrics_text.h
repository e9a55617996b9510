#pragma once

#include <string>

#include "tests/support/http_client.h"
#include "tests/support/prometheus_text.h"

namespace jobgw::testing {

// jobgw's /metrics text, or "" when nothing answered.
inline std::string scrape_metrics(int metrics_port) {
  HttpResponse r = http_get(metrics_port, "/metrics");
  return r.status == 200 ? r.body : std::string();
}

}  // namespace jobgw::testing
