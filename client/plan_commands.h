#pragma once

#include <string>
#include <vector>

#include "client/cli_args.h"
#include "client/commands.h"
#include "client/gateway_client.h"
#include "client/list_command.h"
#include "jobgw/v1/job_gateway.pb.h"

// The job-plan commands: plans, plan, run-plan, operate (and confirm), outputs.
namespace jobgw::client {

// `jobctl plans`'s table: a header and a row per plan in JOB's order: PLAN ID, NAME, CREATOR,
// LAST CHANGE (who and when), and "N of TOTAL plans" when the page holds fewer than all.
std::vector<std::string> plan_table_lines(const v1::ListJobPlansResponse& page,
                                          const TimeText& time_text);

// A variable's DEFAULT cell: the value, the hosts of a host list, "(hidden)" for a password
// (jobgw never returns its value), "-" for none.
std::string variable_default_text(const v1::GlobalVar& variable);

// `jobctl plan`: the plan's name and ids, its steps (ID, TYPE, NAME) and its global variables
// (ID, NAME, TYPE, REQUIRED, DEFAULT).
std::vector<std::string> plan_detail_lines(const v1::JobPlan& plan, const TimeText& time_text);

// `jobctl outputs`: the job and whether it finished, its variables and log variables as
// NAME=VALUE lines, the last step's hosts by outcome and, when asked, each step's outputs.
std::vector<std::string> outputs_lines(const v1::JobOutputs& outputs);

int run_plans(const CliCommand& command, GatewayClient& client, CommandIo& io);
int run_plan(const CliCommand& command, GatewayClient& client, CommandIo& io);
int run_run_plan(const CliCommand& command, GatewayClient& client, CommandIo& io);
// operate and confirm.
int run_operate(const CliCommand& command, GatewayClient& client, CommandIo& io);
int run_outputs(const CliCommand& command, GatewayClient& client, CommandIo& io);

}  // namespace jobgw::client
