#pragma once

#include <cstdint>
#include <functional>
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
  // Called once the command line is parsed, before any channel opens, with --verbose: main()
  // silences gRPC's own log lines unless it is set. Empty: logging is left as it is.
  std::function<void(bool verbose)> configure_logging;
  // Source of generated request ids; empty: std::random_device.
  std::function<std::uint64_t()> random;
};

// Runs a parsed subcommand and returns jobctl's exit code.
int run_command(const CliCommand& command, CommandIo io);

// Parses and runs; what main() does, minus the process.
int jobctl_main(const std::vector<std::string>& args, CommandIo io);

}  // namespace jobgw::client
