// jobgw_decode_bench: how long JobCodec takes to decode saved JOB answers, outside any network
// noise (bench/README.md, "Decoding cost"). Each file is decoded as a get_job_instance_status
// answer; one JSON object per file on stdout. Run it under `valgrind --tool=callgrind` with a
// small --iterations for instruction counts.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/job/job_codec.h"

namespace {

bool read_file(const char* path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  *out = text.str();
  return true;
}

std::size_t host_count(const jobgw::core::JobSnapshot& snap) {
  std::size_t n = 0;
  for (const auto& step : snap.steps) n += step.hosts.size();
  return n;
}

// Decodes body `iterations` times; false (after a message) when it does not decode at all,
// so a broken input cannot pass for a fast one.
bool measure(const char* path, const std::string& body, long iterations) {
  using Clock = std::chrono::steady_clock;
  std::size_t hosts = 0;
  Clock::time_point start = Clock::now();
  for (long i = 0; i < iterations; ++i) {
    auto snap = jobgw::core::JobCodec::decode_job_status(200, body);
    if (!snap.ok()) {
      std::fprintf(stderr, "%s: %s\n", path, snap.error().describe().c_str());
      return false;
    }
    hosts = host_count(*snap);
  }
  double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  std::printf(
      "{\"file\":\"%s\",\"bytes\":%zu,\"hosts\":%zu,\"iterations\":%ld,"
      "\"us_per_decode\":%.2f}\n",
      path, body.size(), hosts, iterations, us / static_cast<double>(iterations));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = 1000;
  std::vector<const char*> files;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
      iterations = std::strtol(argv[++i], nullptr, 10);
    } else {
      files.push_back(argv[i]);
    }
  }
  if (files.empty() || iterations <= 0) {
    std::fprintf(stderr, "usage: jobgw_decode_bench [--iterations N] STATUS_BODY.json...\n");
    return 2;
  }
  for (const char* path : files) {
    std::string body;
    if (!read_file(path, &body)) {
      std::fprintf(stderr, "%s: cannot read\n", path);
      return 1;
    }
    if (!measure(path, body, iterations)) return 1;
  }
  return 0;
}
