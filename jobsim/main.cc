// jobsim: the JOB emulator. All logic lives in jobsim_lib; see jobsim/README.md.
#include <iostream>

#include "jobsim/app.h"
#include "jobsim/config.h"

int main(int argc, char** argv) {
  jobsim::Config config;
  try {
    config = jobsim::parse_args(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::cerr << "jobsim: " << e.what() << "\n";
    return 2;
  }
  if (config.help) {
    std::cout << jobsim::usage();
    return 0;
  }
  return jobsim::run_jobsim(config);
}
