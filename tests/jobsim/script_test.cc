// Integration: scripts really run on simulated hosts of a real jobsim process.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/jobsim/jobsim_fixture.h"
#include "tests/support/wait.h"

namespace jobsim_test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST(JobsimScriptTest, ThreeHostsLogsAndExitCodesPerHost) {
  Jobsim sim;
  const std::string script =
      "echo \"host=$JOB_HOST_ID ip=$JOB_HOST_IP cloud=$JOB_CLOUD_ID args=$#:$1|$2\"\n"
      "echo to-stderr >&2\n"
      "echo back-to-stdout\n"
      "pwd\n"
      "exit $(( JOB_HOST_ID - 101 ))\n";
  json data = sim.run_script(script, {101, 102, 103}, {{"script_param", b64("one 'two words'")}});
  int64_t job = data["job_instance_id"];
  int64_t step = data["step_instance_id"];
  EXPECT_GT(job, 0);
  EXPECT_GT(step, 0);
  EXPECT_FALSE(data["job_instance_name"].get<std::string>().empty());
  json st = sim.wait_finished(job);
  EXPECT_EQ(st["job_instance"]["status"], 4);  // two hosts exited non-zero
  EXPECT_EQ(st["step_instance_list"][0]["status"], 4);
  EXPECT_EQ(st["step_instance_list"][0]["step_instance_id"], step);
  EXPECT_EQ(st["step_instance_list"][0]["type"], 1);
  auto hosts = host_results(st);
  ASSERT_EQ(hosts.size(), 3u);
  EXPECT_EQ(hosts[101]["status"], 9);
  EXPECT_EQ(hosts[101]["exit_code"], 0);
  EXPECT_EQ(hosts[102]["status"], 104);
  EXPECT_EQ(hosts[102]["exit_code"], 1);
  EXPECT_EQ(hosts[103]["status"], 104);
  EXPECT_EQ(hosts[103]["exit_code"], 2);
  EXPECT_EQ(hosts[102]["ip"], "192.0.2.2");
  EXPECT_EQ(hosts[102]["bk_cloud_id"], 0);

  auto logs = sim.script_logs(job, step, {101, 102, 103});
  ASSERT_EQ(logs.size(), 3u);
  for (int64_t id : {101, 102, 103}) {
    std::string ip = "192.0.2." + std::to_string(id - 100);
    std::string want = "host=" + std::to_string(id) + " ip=" + ip +
                       " cloud=0 args=2:one|two words\nto-stderr\nback-to-stdout\n" +
                       fs::canonical(sim.sandbox(id)).string() + "\n";
    EXPECT_EQ(logs[id], want) << id;
  }
  // One host by id and by ip.
  json one = sim.get("get_job_instance_ip_log",
                     "bk_scope_type=biz&bk_scope_id=1&job_instance_id=" + std::to_string(job) +
                         "&step_instance_id=" + std::to_string(step) + "&bk_host_id=102");
  EXPECT_EQ(one["code"], 0) << one.dump();
  EXPECT_EQ(one["data"]["log_type"], 1);
  EXPECT_EQ(one["data"]["log_content"], logs[102]);
  one = sim.get("get_job_instance_ip_log",
                "bk_scope_type=biz&bk_scope_id=1&job_instance_id=" + std::to_string(job) +
                    "&step_instance_id=" + std::to_string(step) + "&bk_cloud_id=0&ip=192.0.2.3");
  EXPECT_EQ(one["data"]["bk_host_id"], 103);
  EXPECT_EQ(one["data"]["log_content"], logs[103]);
}

TEST(JobsimScriptTest, StatusGoesPendingRunningSuccessWithMillisecondTimes) {
  Jobsim sim;
  auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  json data = sim.run_script("sleep 1; echo done", {101, 102});
  int64_t job = data["job_instance_id"];
  json st = sim.status(job);
  EXPECT_FALSE(st["finished"].get<bool>());
  EXPECT_EQ(st["job_instance"]["status"], 2);
  bool saw_running = jobgw::testing::wait_until(
      [&] {
        auto h = host_results(sim.status(job));
        return h[101]["status"] == 7 && h[102]["status"] == 7;
      },
      3s);
  EXPECT_TRUE(saw_running);
  st = sim.wait_finished(job);
  EXPECT_EQ(st["job_instance"]["status"], 3);
  EXPECT_TRUE(st["finished"].get<bool>());
  const json& ji = st["job_instance"];
  EXPECT_GE(ji["create_time"].get<int64_t>(), before);
  EXPECT_LE(ji["create_time"].get<int64_t>(), ji["start_time"].get<int64_t>());
  EXPECT_GE(ji["end_time"].get<int64_t>() - ji["start_time"].get<int64_t>(), 900);
  EXPECT_EQ(ji["total_time"].get<int64_t>(),
            ji["end_time"].get<int64_t>() - ji["start_time"].get<int64_t>());
  EXPECT_EQ(ji["bk_scope_type"], "biz");
  EXPECT_EQ(ji["bk_scope_id"], "1");
  for (auto& [id, h] : host_results(st)) {
    EXPECT_EQ(h["status"], 9);
    EXPECT_GE(h["total_time"].get<int64_t>(), 900);
    EXPECT_EQ(h["total_time"].get<int64_t>(),
              h["end_time"].get<int64_t>() - h["start_time"].get<int64_t>());
  }
  // Without return_ip_result there is no host list.
  json plain = sim.get("get_job_instance_status",
                       "bk_scope_type=biz&bk_scope_id=1&job_instance_id=" + std::to_string(job));
  EXPECT_FALSE(plain["data"]["step_instance_list"][0].contains("step_ip_result_list"));
}

TEST(JobsimScriptTest, PythonAndPerlRunWithTheirInterpreters) {
  Jobsim sim;
  json body = scope_biz1();
  body["account_alias"] = "root";
  body["target_server"] = {{"host_id_list", {101}}};
  body["script_language"] = 4;
  body["script_content"] =
      b64("import os, sys\nprint('py', os.environ['JOB_HOST_ID'], sys.argv[1:])\nsys.exit(3)\n");
  body["script_param"] = b64("x y");
  json py = sim.post("fast_execute_script", body);
  ASSERT_EQ(py["code"], 0) << py.dump();
  body["script_language"] = 3;
  body["script_content"] = b64("print \"pl $ENV{JOB_HOST_IP} @ARGV\\n\";\n");
  json pl = sim.post("fast_execute_script", body);
  ASSERT_EQ(pl["code"], 0) << pl.dump();
  json st = sim.wait_finished(py["data"]["job_instance_id"]);
  EXPECT_EQ(host_results(st)[101]["status"], 104);
  EXPECT_EQ(host_results(st)[101]["exit_code"], 3);
  EXPECT_EQ(
      sim.script_logs(py["data"]["job_instance_id"], py["data"]["step_instance_id"], {101})[101],
      "py 101 ['x', 'y']\n");
  st = sim.wait_finished(pl["data"]["job_instance_id"]);
  EXPECT_EQ(host_results(st)[101]["status"], 9);
  EXPECT_EQ(
      sim.script_logs(pl["data"]["job_instance_id"], pl["data"]["step_instance_id"], {101})[101],
      "pl 192.0.2.1 x y\n");
}

TEST(JobsimScriptTest, NonZeroExitFailsTheJob) {
  Jobsim sim;
  json data = sim.run_script("echo about to fail; exit 7", {101});
  json st = sim.wait_finished(data["job_instance_id"]);
  EXPECT_EQ(st["job_instance"]["status"], 4);
  auto h = host_results(st)[101];
  EXPECT_EQ(h["status"], 104);
  EXPECT_EQ(h["exit_code"], 7);
  EXPECT_EQ(sim.script_logs(data["job_instance_id"], data["step_instance_id"], {101})[101],
            "about to fail\n");
}

bool pid_alive(const std::string& pid_file) {
  std::ifstream in(pid_file);
  int pid = 0;
  if (!(in >> pid) || pid <= 0) return false;
  return ::kill(pid, 0) == 0 && fs::exists("/proc/" + std::to_string(pid)) && [&] {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string s;
    std::getline(stat, s);
    size_t close = s.rfind(')');
    return close != std::string::npos && s.size() > close + 2 && s[close + 2] != 'Z';
  }();
}

TEST(JobsimScriptTest, TimeoutKillsTheProcessGroup) {
  Jobsim sim;
  json data =
      sim.run_script("echo $$ > /dev/null; sleep 30 & echo $! > child.pid; echo started; wait",
                     {101}, {{"timeout", 1}});
  std::string pid_file = sim.sandbox(101) + "/child.pid";
  ASSERT_TRUE(jobgw::testing::wait_until([&] { return pid_alive(pid_file); }, 5s));
  auto t0 = std::chrono::steady_clock::now();
  json st = sim.wait_finished(data["job_instance_id"], 10s);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(st["job_instance"]["status"], 4);
  EXPECT_EQ(host_results(st)[101]["status"], 102);
  EXPECT_TRUE(jobgw::testing::wait_until([&] { return !pid_alive(pid_file); }, 3s))
      << "the background sleep survived the timeout";
  std::string log = sim.script_logs(data["job_instance_id"], data["step_instance_id"], {101})[101];
  EXPECT_NE(log.find("started"), std::string::npos);
  EXPECT_NE(log.find("timed out"), std::string::npos) << log;
}

TEST(JobsimScriptTest, TerminateKillsRunningScripts) {
  Jobsim sim;
  json data = sim.run_script("echo $$ > leader.pid; sleep 60", {101, 102});
  int64_t job = data["job_instance_id"];
  ASSERT_TRUE(jobgw::testing::wait_until(
      [&] {
        return pid_alive(sim.sandbox(101) + "/leader.pid") &&
               pid_alive(sim.sandbox(102) + "/leader.pid");
      },
      5s));
  json body = scope_biz1();
  body["job_instance_id"] = job;
  body["operation_code"] = 1;
  json op = sim.post("operate_job_instance", body);
  EXPECT_EQ(op["code"], 0) << op.dump();
  EXPECT_EQ(op["data"]["job_instance_id"], job);
  json st = sim.wait_finished(job, 10s);
  EXPECT_EQ(st["job_instance"]["status"], 8);
  EXPECT_EQ(st["step_instance_list"][0]["status"], 8);
  for (auto& [id, h] : host_results(st)) EXPECT_EQ(h["status"], 103) << id;
  EXPECT_FALSE(pid_alive(sim.sandbox(101) + "/leader.pid"));
  EXPECT_FALSE(pid_alive(sim.sandbox(102) + "/leader.pid"));
  // A finished job cannot be terminated again.
  json again = sim.post("operate_job_instance", body);
  EXPECT_FALSE(again["result"].get<bool>());
  EXPECT_EQ(again["code"], 1241010) << again.dump();
}

TEST(JobsimScriptTest, TerminatingTwiceAnswers1244015) {
  Jobsim sim({"--hosts", "3", "--kill-grace-ms", "1500"});
  // The script ignores SIGTERM, so termination waits for the SIGKILL after the grace period.
  json data = sim.run_script("trap '' TERM; echo ready; sleep 60", {101});
  int64_t job = data["job_instance_id"];
  ASSERT_TRUE(jobgw::testing::wait_until(
      [&] { return sim.script_logs(job, data["step_instance_id"], {101})[101] == "ready\n"; }, 5s));
  json body = scope_biz1();
  body["job_instance_id"] = job;
  body["operation_code"] = 1;
  EXPECT_EQ(sim.post("operate_job_instance", body)["code"], 0);
  EXPECT_EQ(sim.status(job)["job_instance"]["status"], 10);  // terminating
  json again = sim.post("operate_job_instance", body);
  EXPECT_EQ(again["code"], 1244015) << again.dump();
  EXPECT_FALSE(again["result"].get<bool>());
  json st = sim.wait_finished(job, 10s);
  EXPECT_EQ(st["job_instance"]["status"], 8);
  EXPECT_EQ(host_results(st)[101]["status"], 103);
  // Unsupported operation codes are illegal parameters.
  body["operation_code"] = 2;
  EXPECT_EQ(sim.post("operate_job_instance", body)["code"], 1241005);
}

TEST(JobsimScriptTest, ProcessLimitKeepsHostsWaitingAndTerminateEndsThem) {
  Jobsim sim({"--hosts", "6", "--max-procs", "2"});
  json data = sim.run_script("sleep 30", {101, 102, 103, 104, 105, 106});
  int64_t job = data["job_instance_id"];
  ASSERT_TRUE(jobgw::testing::wait_until(
      [&] {
        int running = 0;
        for (auto& [id, h] : host_results(sim.status(job))) running += h["status"] == 7;
        return running == 2;
      },
      5s));
  std::this_thread::sleep_for(200ms);
  int running = 0, waiting = 0;
  for (auto& [id, h] : host_results(sim.status(job))) {
    running += h["status"] == 7;
    waiting += h["status"] == 5;
  }
  EXPECT_EQ(running, 2);
  EXPECT_EQ(waiting, 4);
  json body = scope_biz1();
  body["job_instance_id"] = job;
  body["operation_code"] = 1;
  EXPECT_EQ(sim.post("operate_job_instance", body)["code"], 0);
  json st = sim.wait_finished(job, 10s);
  int killed = 0, never_started = 0;
  for (auto& [id, h] : host_results(st)) {
    killed += h["status"] == 103;
    never_started += h["status"] == 403;
  }
  EXPECT_EQ(killed, 2);
  EXPECT_EQ(never_started, 4);
}

TEST(JobsimScriptTest, ThousandHostsUnderAProcessLimit) {
  Jobsim sim({"--hosts", "1000", "--max-procs", "16"});
  std::vector<int64_t> ids;
  for (int64_t i = 101; i < 1101; ++i) ids.push_back(i);
  json data = sim.run_script("echo $JOB_HOST_ID", ids);
  auto t0 = std::chrono::steady_clock::now();
  // jobsim stays responsive while it works through the hosts.
  json st = sim.status(data["job_instance_id"]);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  st = sim.wait_finished(data["job_instance_id"], 90s);
  EXPECT_EQ(st["job_instance"]["status"], 3);
  auto hosts = host_results(st);
  EXPECT_EQ(hosts.size(), 1000u);
  for (auto& [id, h] : hosts) ASSERT_EQ(h["status"], 9) << id;
  auto logs = sim.script_logs(data["job_instance_id"], data["step_instance_id"], {555, 1100});
  EXPECT_EQ(logs[555], "555\n");
  EXPECT_EQ(logs[1100], "1100\n");
}

TEST(JobsimScriptTest, WindowsLanguagesFailToSubmitAndAbnormalAgentsAre310) {
  jobgw::testing::TempDir tmp("jobsim-inv");
  {
    std::ofstream inv(tmp.file("inv.json"));
    inv << R"({"hosts": [
      {"host_id": 11, "ip": "198.51.100.11", "cloud_id": 0, "scope_type": "biz", "scope_id": "1"},
      {"host_id": 12, "ip": "198.51.100.12", "cloud_id": 0, "scope_type": "biz", "scope_id": "1", "agent": "abnormal"}]})";
  }
  Jobsim sim({"--inventory", tmp.file("inv.json")});
  json data = sim.run_script("echo hi", {11, 12});
  json st = sim.wait_finished(data["job_instance_id"]);
  EXPECT_EQ(st["job_instance"]["status"], 4);
  EXPECT_EQ(host_results(st)[11]["status"], 9);
  EXPECT_EQ(host_results(st)[12]["status"], 310);
  for (int lang : {2, 5}) {
    json body = scope_biz1();
    body["account_alias"] = "root";
    body["target_server"] = {{"host_id_list", {11}}};
    body["script_language"] = lang;
    body["script_content"] = b64("echo %PATH%");
    json env = sim.post("fast_execute_script", body);
    ASSERT_EQ(env["code"], 0);
    st = sim.wait_finished(env["data"]["job_instance_id"]);
    EXPECT_EQ(st["job_instance"]["status"], 4);
    EXPECT_EQ(host_results(st)[11]["status"], 12);
  }
}

TEST(JobsimScriptTest, LogIsCappedAtTheConfiguredSize) {
  Jobsim sim({"--hosts", "2", "--log-cap", "100"});
  json data = sim.run_script("for i in $(seq 1 100); do echo line-$i; done", {101});
  sim.wait_finished(data["job_instance_id"]);
  std::string log = sim.script_logs(data["job_instance_id"], data["step_instance_id"], {101})[101];
  EXPECT_EQ(log.substr(0, 14), "line-1\nline-2\n");
  EXPECT_NE(log.find("[jobsim: log truncated at 100 bytes]"), std::string::npos) << log;
  EXPECT_LT(log.size(), 160u);
  EXPECT_EQ(log.find("line-100"), std::string::npos);
}

TEST(JobsimScriptTest, BinaryOutputDoesNotBreakTheLogs) {
  Jobsim sim;
  json data = sim.run_script("printf 'bad \\377\\376 bytes\\n'; echo still-ok", {101});
  sim.wait_finished(data["job_instance_id"]);
  std::string log = sim.script_logs(data["job_instance_id"], data["step_instance_id"], {101})[101];
  EXPECT_EQ(log.rfind("bad ", 0), 0u) << log;
  EXPECT_NE(log.find("\xEF\xBF\xBD"), std::string::npos) << log;  // U+FFFD
  EXPECT_NE(log.find("still-ok\n"), std::string::npos) << log;
}

TEST(JobsimScriptTest, StartsInUnderASecond) {
  auto t0 = std::chrono::steady_clock::now();
  Jobsim sim({"--hosts", "5"});
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 1s);
  auto r = sim.raw_get("/jobsim/healthz");
  EXPECT_EQ(r.status, 200);
  json h = json::parse(r.body);
  EXPECT_EQ(h["hosts"], 5);
  EXPECT_EQ(h["executor"], "real");
}

}  // namespace
}  // namespace jobsim_test
