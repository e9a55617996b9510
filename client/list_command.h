#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "client/cli_args.h"
#include "client/commands.h"
#include "client/gateway_client.h"
#include "jobgw/v1/job_gateway.pb.h"

namespace jobgw::client {

// The STARTED column's text for a Unix ms time.
using TimeText = std::function<std::string(std::int64_t unix_ms)>;

// "2024-05-01 12:34:56" in the local time zone; "-" for 0 (not started yet).
std::string local_time_text(std::int64_t unix_ms);

// `jobctl list`'s table: a header and one row per job, in the order given (jobgw's, newest
// first): JOB ID, NAME, STATUS, HOSTS (success/failed/running/total), SUBS, CALLER, STARTED.
// Columns are as wide as their widest cell; a name longer than kMaxNameWidth is cut with "...".
std::vector<std::string> job_table_lines(const std::vector<v1::JobSummary>& jobs,
                                         const TimeText& time_text);
inline constexpr std::size_t kMaxNameWidth = 40;

// `jobctl list`: one page of --limit jobs, or every page with --all.
int run_list(const CliCommand& command, GatewayClient& client, CommandIo& io);

}  // namespace jobgw::client
