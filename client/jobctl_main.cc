// jobctl: the command-line client of jobgw. See `jobctl --help`.
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "client/commands.h"

int main(int argc, char** argv) {
  // A closed pipe (jobctl watch | head) should end jobctl quietly, not kill it mid-write.
  ::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  jobgw::client::CommandIo io{std::cout, std::cerr, std::cin, ::isatty(STDOUT_FILENO) == 1};
  int code = jobgw::client::jobctl_main(args, io);
  std::cout.flush();
  return code;
}
