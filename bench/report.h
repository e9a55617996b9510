#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace jobgw::bench {

// The Markdown tables of bench/RESULTS.md, a section per scenario, from the JSON lines the
// scenario commands print.
void write_report(const std::vector<nlohmann::json>& rows, std::ostream& out);

// What a smoke run checks: no scenario errored and jobgw's fan-in reads did not grow with K.
// Never timing. Returns the failures, one line each (empty: all good).
std::vector<std::string> smoke_failures(const std::vector<nlohmann::json>& rows);

}  // namespace jobgw::bench
