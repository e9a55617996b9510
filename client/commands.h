#pragma once

#include <iostream>

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
};

// Runs a parsed subcommand and returns jobctl's exit code.
int run_command(const CliCommand& command, CommandIo io);

// Parses and runs; what main() does, minus the process.
int jobctl_main(const std::vector<std::string>& args, CommandIo io);

}  // namespace jobgw::client
