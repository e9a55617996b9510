#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace jobgw::bench {

// Scenario 2, many jobs under a JOB read budget: `jobs` concurrent one-host jobs whose durations
// jobsim's synthetic executor spreads uniformly (run.sh: 1-30 s), one caller following each.
// JOB's status reads are counted per wall-clock second by jobsim (status_reads_by_second).
struct BudgetOptions {
  int jobsim_port = 0;
  std::string grpc_address;  // jobgw mode
  int interval_ms = 20000;   // baseline: fixed poll interval
  int jobs = 1000;
  double budget_per_second = 50;  // jobgw's watch.reads_per_second, for the report
  int ceiling_ms = 5000;          // jobgw's watch.poll_ceiling_ms, for the report
  int workers = 64;               // baseline threads (each with its keep-alive connection)
  int submitters = 8;             // threads submitting the jobs
  // jobgw mode: a stream follows every Nth job only; the rest are submitted and left to jobgw
  // (as services that never watch do), so watched jobs compete with unwatched ones for reads.
  int watch_every = 1;
  int timeout_s = 600;
};

nlohmann::json run_budget_baseline(const BudgetOptions& options);
nlohmann::json run_budget_gateway(const BudgetOptions& options);

}  // namespace jobgw::bench
