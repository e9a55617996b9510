#pragma once

#include <cstdint>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "client/cli_args.h"

namespace jobgw::client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitJobFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRpcError = 3;

struct CommandIo {
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
  bool out_is_terminal = false;
  // Called once the command line is parsed, before any channel opens, with --verbose: main()
  // silences gRPC's own log lines unless it is set. Empty: logging is left as it is.
  std::function<void(bool verbose)> configure_logging;
  // Source of generated request ids; empty: std::random_device.
  std::function<std::uint64_t()> random;
};

class GatewayClient;

// After a submit (exec, transfer, run-plan): prints the job ("job ID step ID", or with --json
// the JobRef and `request_id`), then with --watch follows it and with --logs prints its output;
// returns the exit code.
int follow_submitted(GatewayClient& client, const CliCommand& command, const v1::JobRef& ref,
                     const std::string& request_id, CommandIo& io);

// The id a submit carries: --request-id, else a new one, announced (on stderr, or with --json as
// the output's request_id) so a rerun after a lost answer can reuse it and get the same job;
// "" with --no-request-id.
std::string submit_request_id(const CliCommand& command, CommandIo& io);

// Runs a parsed subcommand and returns jobctl's exit code.
int run_command(const CliCommand& command, CommandIo io);

// Parses and runs; what main() does, minus the process.
int jobctl_main(const std::vector<std::string>& args, CommandIo io);

}  // namespace jobgw::client
