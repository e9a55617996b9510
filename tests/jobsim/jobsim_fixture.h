#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

namespace jobsim_test {

using jobgw::testing::HttpHeaders;
using jobgw::testing::HttpResponse;
using nlohmann::json;

// A real jobsim process on 127.0.0.1 with an ephemeral port, its data dir in a temp dir. Killed
// (with everything it started) and cleaned up on destruction.
class Jobsim {
 public:
  explicit Jobsim(std::vector<std::string> args = {"--hosts", "5"});

  int port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string sandbox(int64_t host_id) const;
  std::string log() const { return child_->log(); }
  jobgw::testing::ChildProcess& process() { return *child_; }

  // POST /api/v3/<name>/ with `body`; returns the parsed envelope (null JSON if it does not
  // parse, with a test failure).
  json post(const std::string& name, const json& body, const HttpHeaders& headers = {});
  // GET /api/v3/<name>/?<query>
  json get(const std::string& name, const std::string& query, const HttpHeaders& headers = {});
  HttpResponse raw_post(const std::string& target, const std::string& body,
                        const HttpHeaders& headers = {});
  HttpResponse raw_get(const std::string& target, const HttpHeaders& headers = {});

  // Submits a script (plain text, encoded here) to host ids; returns data of the envelope.
  json run_script(const std::string& script, const std::vector<int64_t>& hosts,
                  json extra = json::object());
  // get_job_instance_status data (with ip results).
  json status(int64_t job_id);
  // Polls status until finished; returns the last data. Fails the test on timeout.
  json wait_finished(int64_t job_id, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Script logs per host id of one step.
  std::map<int64_t, std::string> script_logs(int64_t job_id, int64_t step_id,
                                             const std::vector<int64_t>& hosts);

 private:
  std::unique_ptr<jobgw::testing::TempDir> tmp_;
  std::string data_dir_;
  std::unique_ptr<jobgw::testing::ChildProcess> child_;
  int port_ = 0;
};

// Host results of a status data object, by host id.
std::map<int64_t, json> host_results(const json& status_data);
std::string b64(const std::string& s);
json scope_biz1();

}  // namespace jobsim_test
