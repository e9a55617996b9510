// Integration: files really move between host sandboxes.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/jobsim/jobsim_fixture.h"
#include "tests/support/wait.h"

namespace jobsim_test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

void write_file(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json transfer_body(const std::vector<std::string>& files, const std::vector<int64_t>& sources,
                   const std::string& target_path, const std::vector<int64_t>& targets) {
  json body = scope_biz1();
  body["file_target_path"] = target_path;
  body["file_source_list"] = {{{"file_list", files},
                               {"server", {{"host_id_list", sources}}},
                               {"account", {{"alias", "root"}}}}};
  body["account_alias"] = "root";
  body["target_server"] = {{"host_id_list", targets}};
  return body;
}

json file_logs(Jobsim& sim, int64_t job, int64_t step, const std::vector<int64_t>& hosts) {
  json body = scope_biz1();
  body["job_instance_id"] = job;
  body["step_instance_id"] = step;
  body["host_id_list"] = hosts;
  json env = sim.post("batch_get_job_instance_ip_log", body);
  EXPECT_EQ(env["code"], 0) << env.dump();
  EXPECT_EQ(env["data"]["log_type"], 2);
  return env["data"]["file_task_logs"];
}

TEST(JobsimTransferTest, CopiesFilesWithLogsInBothModes) {
  Jobsim sim;
  write_file(sim.sandbox(101) + "/data/app/app.log", "hello from 101\n");
  write_file(sim.sandbox(101) + "/data/app/other.txt", "123456789");
  json env =
      sim.post("fast_transfer_file", transfer_body({"/data/app/app.log", "/data/app/other.txt"},
                                                   {101}, "/tmp/recv/[FILESRCIP]/", {102, 103}));
  ASSERT_EQ(env["code"], 0) << env.dump();
  int64_t job = env["data"]["job_instance_id"];
  int64_t step = env["data"]["step_instance_id"];
  json st = sim.wait_finished(job);
  EXPECT_EQ(st["job_instance"]["status"], 3);
  EXPECT_EQ(st["step_instance_list"][0]["type"], 2);
  auto hosts = host_results(st);
  ASSERT_EQ(hosts.size(), 2u);  // the targets
  EXPECT_EQ(hosts[102]["status"], 9);
  EXPECT_EQ(hosts[103]["status"], 9);
  for (int64_t t : {102, 103}) {
    EXPECT_EQ(read_file(sim.sandbox(t) + "/tmp/recv/192.0.2.1/app.log"), "hello from 101\n");
    EXPECT_EQ(read_file(sim.sandbox(t) + "/tmp/recv/192.0.2.1/other.txt"), "123456789");
  }
  json logs = file_logs(sim, job, step, {101, 102});
  ASSERT_EQ(logs.size(), 2u);
  std::map<int64_t, json> by_host;
  for (auto& l : logs) by_host[l["bk_host_id"]] = l["file_logs"];
  // Source host: upload logs (mode 0), no dest.
  ASSERT_EQ(by_host[101].size(), 2u);
  for (auto& l : by_host[101]) {
    EXPECT_EQ(l["mode"], 0);
    EXPECT_EQ(l["status"], 4);
    EXPECT_EQ(l["src_ip"]["bk_host_id"], 101);
    EXPECT_FALSE(l.contains("dest_ip"));
    EXPECT_EQ(l["process"], "100%");
  }
  // Target host: download logs (mode 1) with dest set.
  ASSERT_EQ(by_host[102].size(), 2u);
  json dl = by_host[102][1];
  EXPECT_EQ(dl["mode"], 1);
  EXPECT_EQ(dl["status"], 4);
  EXPECT_EQ(dl["src_ip"]["ip"], "192.0.2.1");
  EXPECT_EQ(dl["src_path"], "/data/app/other.txt");
  EXPECT_EQ(dl["dest_ip"]["bk_host_id"], 102);
  EXPECT_EQ(dl["dest_path"], "/tmp/recv/192.0.2.1/other.txt");
  EXPECT_EQ(dl["size"], "9.0 Bytes");
  EXPECT_EQ(dl["process"], "100%");
  EXPECT_NE(dl["speed"].get<std::string>().find("KB/s"), std::string::npos);
  EXPECT_NE(dl["log_content"].get<std::string>().find("download success"), std::string::npos);
  // The upload logs of a source come back only when it is asked for.
  json only_target = file_logs(sim, job, step, {103});
  ASSERT_EQ(only_target.size(), 1u);
  for (auto& l : only_target[0]["file_logs"]) EXPECT_EQ(l["mode"], 1);
  // Single-host log of a file step.
  json one = sim.get("get_job_instance_ip_log",
                     "bk_scope_type=biz&bk_scope_id=1&job_instance_id=" + std::to_string(job) +
                         "&step_instance_id=" + std::to_string(step) + "&bk_host_id=103");
  EXPECT_EQ(one["data"]["log_type"], 2);
  EXPECT_EQ(one["data"]["file_logs"].size(), 2u);
}

TEST(JobsimTransferTest, MissingSourceIsStatus203WithAClearLog) {
  Jobsim sim;
  write_file(sim.sandbox(101) + "/data/present.txt", "x");
  json env = sim.post("fast_transfer_file", transfer_body({"/data/present.txt", "/data/absent.txt"},
                                                          {101}, "/tmp/in", {102}));
  ASSERT_EQ(env["code"], 0) << env.dump();
  json st = sim.wait_finished(env["data"]["job_instance_id"]);
  EXPECT_EQ(st["job_instance"]["status"], 4);
  EXPECT_EQ(host_results(st)[102]["status"], 203);
  EXPECT_EQ(read_file(sim.sandbox(102) + "/tmp/in/present.txt"),
            "x");  // forced mode: the rest goes
  json logs =
      file_logs(sim, env["data"]["job_instance_id"], env["data"]["step_instance_id"], {102});
  bool found = false;
  for (auto& l : logs[0]["file_logs"]) {
    if (l["src_path"] == "/data/absent.txt") {
      found = true;
      EXPECT_EQ(l["status"], 5);
      EXPECT_NE(l["log_content"].get<std::string>().find("source file not found"),
                std::string::npos)
          << l.dump();
    }
  }
  EXPECT_TRUE(found);
  // Strict mode sends nothing when a source is missing.
  json body = transfer_body({"/data/present.txt", "/data/absent.txt"}, {101}, "/tmp/strict", {103});
  body["transfer_mode"] = 1;
  env = sim.post("fast_transfer_file", body);
  st = sim.wait_finished(env["data"]["job_instance_id"]);
  EXPECT_EQ(host_results(st)[103]["status"], 203);
  EXPECT_FALSE(fs::exists(sim.sandbox(103) + "/tmp/strict/present.txt"));
}

TEST(JobsimTransferTest, SpeedLimitThrottles) {
  Jobsim sim;
  write_file(sim.sandbox(101) + "/data/big.bin", std::string(2 * 1024 * 1024 + 512 * 1024, 'z'));
  json body = transfer_body({"/data/big.bin"}, {101}, "/data/copy", {102});
  body["download_speed_limit"] = 1;  // MB/s
  json env = sim.post("fast_transfer_file", body);
  ASSERT_EQ(env["code"], 0) << env.dump();
  int64_t job = env["data"]["job_instance_id"];
  // Progress is visible while the copy runs.
  bool partial = jobgw::testing::wait_until(
      [&] {
        json logs = file_logs(sim, job, env["data"]["step_instance_id"], {102});
        if (logs.empty() || logs[0]["file_logs"].empty()) return false;
        std::string p = logs[0]["file_logs"][0]["process"];
        return p != "0%" && p != "100%";
      },
      3s, 20ms);
  EXPECT_TRUE(partial);
  json st = sim.wait_finished(job, 20s);
  EXPECT_EQ(st["job_instance"]["status"], 3);
  auto h = host_results(st)[102];
  EXPECT_GE(h["total_time"].get<int64_t>(), 2000);  // 2.5 MB at 1 MB/s
  EXPECT_EQ(fs::file_size(sim.sandbox(102) + "/data/copy/big.bin"), 2u * 1024 * 1024 + 512 * 1024);
}

TEST(JobsimTransferTest, PathEscapesAreRejected) {
  Jobsim sim;
  jobgw::testing::TempDir outside("jobsim-outside");
  write_file(outside.file("secret.txt"), "secret");
  write_file(sim.sandbox(101) + "/data/ok.txt", "ok");
  // Lexical escapes are refused at submit.
  json env = sim.post("fast_transfer_file",
                      transfer_body({"/data/ok.txt"}, {101}, "/tmp/../../..", {102}));
  EXPECT_EQ(env["code"], 1241005) << env.dump();
  EXPECT_FALSE(env["result"].get<bool>());
  env = sim.post("fast_transfer_file",
                 transfer_body({"/data/../../../etc/passwd"}, {101}, "/tmp", {102}));
  EXPECT_EQ(env["code"], 1241005) << env.dump();
  env = sim.post("fast_transfer_file", transfer_body({"data/ok.txt"}, {101}, "/tmp", {102}));
  EXPECT_EQ(env["code"], 1241005) << env.dump();
  env =
      sim.post("fast_transfer_file", transfer_body({"/data/ok.txt"}, {101}, "relative/dir", {102}));
  EXPECT_EQ(env["code"], 1241005) << env.dump();

  // A source symlink leading out of the sandbox is not followed.
  fs::create_symlink(outside.path(), sim.sandbox(101) + "/data/link");
  env = sim.post("fast_transfer_file",
                 transfer_body({"/data/link/secret.txt"}, {101}, "/tmp/got", {102}));
  ASSERT_EQ(env["code"], 0);
  json st = sim.wait_finished(env["data"]["job_instance_id"]);
  EXPECT_EQ(host_results(st)[102]["status"], 202);
  EXPECT_FALSE(fs::exists(sim.sandbox(102) + "/tmp/got/secret.txt"));
  json logs =
      file_logs(sim, env["data"]["job_instance_id"], env["data"]["step_instance_id"], {102});
  EXPECT_NE(logs[0]["file_logs"][0]["log_content"].get<std::string>().find("escapes"),
            std::string::npos);

  // A target symlink leading out of the sandbox is not written through.
  fs::create_directories(sim.sandbox(103) + "/tmp");
  fs::create_symlink(outside.path(), sim.sandbox(103) + "/tmp/drop");
  env = sim.post("fast_transfer_file", transfer_body({"/data/ok.txt"}, {101}, "/tmp/drop", {103}));
  ASSERT_EQ(env["code"], 0);
  st = sim.wait_finished(env["data"]["job_instance_id"]);
  EXPECT_EQ(host_results(st)[103]["status"], 202);
  EXPECT_FALSE(fs::exists(outside.file("ok.txt")));
}

TEST(JobsimTransferTest, DirectoriesAndSeveralSources) {
  Jobsim sim;
  write_file(sim.sandbox(101) + "/data/conf/a.conf", "a");
  write_file(sim.sandbox(101) + "/data/conf/sub/b.conf", "bb");
  write_file(sim.sandbox(102) + "/data/conf/a.conf", "from-102");
  json body = scope_biz1();
  body["file_target_path"] = "/opt/[FILESRCIP]";
  body["file_source_list"] = {
      {{"file_list", {"/data/conf/"}},
       {"server", {{"ip_list", {{{"bk_cloud_id", 0}, {"ip", "192.0.2.1"}}}}}},
       {"account", {{"id", 1}}}},
      {{"file_list", {"/data/conf/a.conf"}},
       {"server", {{"host_id_list", {102}}}},
       {"account", {{"alias", "root"}}}}};
  body["account_id"] = 1;
  body["target_server"] = {{"host_id_list", {104}}};
  json env = sim.post("fast_transfer_file", body);
  ASSERT_EQ(env["code"], 0) << env.dump();
  json st = sim.wait_finished(env["data"]["job_instance_id"]);
  EXPECT_EQ(st["job_instance"]["status"], 3);
  EXPECT_EQ(read_file(sim.sandbox(104) + "/opt/192.0.2.1/conf/a.conf"), "a");
  EXPECT_EQ(read_file(sim.sandbox(104) + "/opt/192.0.2.1/conf/sub/b.conf"), "bb");
  EXPECT_EQ(read_file(sim.sandbox(104) + "/opt/192.0.2.2/a.conf"), "from-102");
}

}  // namespace
}  // namespace jobsim_test
