#include "tests/jobsim/jobsim_fixture.h"

#include <thread>

#include "jobsim/text_util.h"
#include "tests/support/wait.h"

namespace jobsim_test {

using namespace std::chrono_literals;

Jobsim::Jobsim(std::vector<std::string> args) {
  tmp_ = std::make_unique<jobgw::testing::TempDir>("jobsim-it");
  data_dir_ = tmp_->file("data");
  std::string port_file = tmp_->file("port");
  args.insert(args.end(), {"--listen", "127.0.0.1:0", "--port-file", port_file, "--data-dir",
                           data_dir_, "--log-level", "debug"});
  child_ =
      std::make_unique<jobgw::testing::ChildProcess>(JOBSIM_BINARY, args, tmp_->file("jobsim.log"));
  port_ = jobgw::testing::wait_for_port_file(port_file, 10s);
  if (port_ == 0) {
    std::string log = child_->log();
    child_->stop();
    throw std::runtime_error("jobsim did not start; its log:\n" + log);
  }
}

std::string Jobsim::sandbox(int64_t host_id) const {
  return data_dir_ + "/hosts/" + std::to_string(host_id);
}

HttpResponse Jobsim::raw_post(const std::string& target, const std::string& body,
                              const HttpHeaders& headers) {
  return jobgw::testing::http_post_json(port_, target, body, headers);
}

HttpResponse Jobsim::raw_get(const std::string& target, const HttpHeaders& headers) {
  return jobgw::testing::http_get(port_, target, headers);
}

static json parse_envelope(const HttpResponse& r, const std::string& what) {
  EXPECT_TRUE(r.ok()) << what << ": " << r.error;
  EXPECT_EQ(r.status, 200) << what << ": " << r.body;
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) {
    ADD_FAILURE() << what << ": body does not parse: " << r.body;
    return json();
  }
  return j;
}

json Jobsim::post(const std::string& name, const json& body, const HttpHeaders& headers) {
  return parse_envelope(raw_post("/api/v3/" + name + "/", body.dump(), headers), name);
}

json Jobsim::get(const std::string& name, const std::string& query, const HttpHeaders& headers) {
  return parse_envelope(raw_get("/api/v3/" + name + "/?" + query, headers), name);
}

json Jobsim::run_script(const std::string& script, const std::vector<int64_t>& hosts, json extra) {
  json body = scope_biz1();
  body["script_content"] = b64(script);
  body["script_language"] = 1;
  body["account_alias"] = "root";
  body["target_server"] = {{"host_id_list", hosts}};
  for (auto& [k, v] : extra.items()) body[k] = v;
  json env = post("fast_execute_script", body);
  EXPECT_EQ(env.value("code", -1), 0) << env.dump();
  return env.value("data", json());
}

json Jobsim::status(int64_t job_id) {
  json env = get("get_job_instance_status",
                 "bk_scope_type=biz&bk_scope_id=1&return_ip_result=true&job_instance_id=" +
                     std::to_string(job_id));
  EXPECT_EQ(env.value("code", -1), 0) << env.dump();
  return env.value("data", json());
}

json Jobsim::wait_finished(int64_t job_id, std::chrono::milliseconds timeout) {
  json last;
  bool done = jobgw::testing::wait_until(
      [&] {
        last = status(job_id);
        return last.value("finished", false);
      },
      timeout, 50ms);
  EXPECT_TRUE(done) << "job " << job_id << " did not finish: " << last.dump();
  return last;
}

std::map<int64_t, std::string> Jobsim::script_logs(int64_t job_id, int64_t step_id,
                                                   const std::vector<int64_t>& hosts) {
  json body = scope_biz1();
  body["job_instance_id"] = job_id;
  body["step_instance_id"] = step_id;
  body["host_id_list"] = hosts;
  json env = post("batch_get_job_instance_ip_log", body);
  EXPECT_EQ(env.value("code", -1), 0) << env.dump();
  std::map<int64_t, std::string> out;
  for (auto& l : env["data"]["script_task_logs"]) {
    out[l["bk_host_id"].get<int64_t>()] = l["log_content"].get<std::string>();
  }
  return out;
}

std::map<int64_t, json> host_results(const json& status_data) {
  std::map<int64_t, json> out;
  for (auto& h : status_data["step_instance_list"][0]["step_ip_result_list"]) {
    out[h["bk_host_id"].get<int64_t>()] = h;
  }
  return out;
}

std::string b64(const std::string& s) { return jobsim::base64_encode(s); }

json scope_biz1() { return {{"bk_scope_type", "biz"}, {"bk_scope_id", "1"}}; }

}  // namespace jobsim_test
