// jobctl: the command-line client of jobgw. See `jobctl --help`.
#include <grpc/support/log.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "client/commands.h"

namespace {

void discard_grpc_log(gpr_log_func_args*) {}

// gRPC's own log lines (connect failures, handshakes) are noise on a user's terminal next to
// jobctl's own messages; --verbose lets them through, at INFO unless GRPC_VERBOSITY says else.
void configure_grpc_logging(bool verbose) {
  if (!verbose) {
    gpr_set_log_function(discard_grpc_log);
    return;
  }
  // Read by gRPC when it initialises, which the first channel does: after this.
  ::setenv("GRPC_VERBOSITY", "INFO", 0);
}

}  // namespace

int main(int argc, char** argv) {
  // A closed pipe (jobctl watch | head) should end jobctl quietly, not kill it mid-write.
  ::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  jobgw::client::CommandIo io{std::cout, std::cerr, std::cin, ::isatty(STDOUT_FILENO) == 1};
  io.configure_logging = configure_grpc_logging;
  int code = jobgw::client::jobctl_main(args, io);
  std::cout.flush();
  return code;
}
