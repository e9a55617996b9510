#pragma once

#include <cstdio>
#include <cstdlib>

// An invariant of the code under fuzzing: when it breaks, libFuzzer records the input as a crash.
#define FUZZ_CHECK(cond, what)                                                                     \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "%s:%d: invariant broken: %s (%s)\n", __FILE__, __LINE__, what, #cond); \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)
