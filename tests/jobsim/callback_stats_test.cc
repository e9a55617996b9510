// Integration: callbacks, stats, job retention and the synthetic executor.
#include <thread>

#include "tests/jobsim/jobsim_fixture.h"
#include "tests/support/fake_http_server.h"
#include "tests/support/wait.h"

namespace jobsim_test {
namespace {

using namespace std::chrono_literals;
using jobgw::testing::FakeHttpServer;
using jobgw::testing::FakeResponse;
using jobgw::testing::RecordedRequest;

TEST(JobsimCallbackTest, DeliveredAndRetriedOnNon200) {
  int received = 0;  // the handler runs on the server's one thread
  FakeHttpServer receiver([&received](const RecordedRequest&) {
    // The first two attempts fail.
    return FakeResponse::with_status(received++ < 2 ? 500 : 200, "ok");
  });
  Jobsim sim({"--hosts", "3", "--callback-retry-ms", "100"});
  json data = sim.run_script("echo hi", {101, 102},
                             {{"callback_url", receiver.base_url() + "/jobgw/callback?x=1"}});
  int64_t job = data["job_instance_id"];
  ASSERT_TRUE(jobgw::testing::wait_until([&] { return receiver.requests_received() >= 3; }, 10s));
  std::this_thread::sleep_for(500ms);
  auto reqs = receiver.requests();
  ASSERT_EQ(reqs.size(), 3u);  // 500, 500, 200: no more after the success
  for (size_t i = 0; i < reqs.size(); ++i) {
    const RecordedRequest& r = reqs[i];
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/jobgw/callback?x=1");
    // As JOB: JSON first, then form-encoded retries carrying the same JSON text.
    EXPECT_EQ(r.header("content-type").value_or(""),
              i == 0 ? "application/json" : "application/x-www-form-urlencoded");
    json body = json::parse(r.body);
    EXPECT_EQ(body["job_instance_id"], job);
    EXPECT_EQ(body["status"], 3);
    ASSERT_EQ(body["step_instance_list"].size(), 1u);
    EXPECT_EQ(body["step_instance_list"][0]["step_instance_id"], data["step_instance_id"]);
    EXPECT_EQ(body["step_instance_list"][0]["status"], 3);
  }
  // By the time the callback came, the job reads as finished.
  EXPECT_TRUE(sim.status(job)["finished"].get<bool>());
  json stats = json::parse(sim.raw_get("/jobsim/stats").body);
  EXPECT_EQ(stats["callbacks"]["attempts"], 3);
  EXPECT_EQ(stats["callbacks"]["delivered"], 1);
}

TEST(JobsimCallbackTest, GivesUpAfterTheRetries) {
  FakeHttpServer receiver(
      [](const RecordedRequest&) { return FakeResponse::with_status(503, "down"); });
  Jobsim sim({"--hosts", "2", "--callback-retries", "2", "--callback-retry-ms", "50"});
  json data = sim.run_script("exit 1", {101}, {{"callback_url", receiver.base_url() + "/cb"}});
  ASSERT_TRUE(jobgw::testing::wait_until([&] { return receiver.requests_received() >= 3; }, 10s));
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(receiver.requests_received(), 3u);  // first attempt + 2 retries
  json body = json::parse(receiver.requests()[0].body);
  EXPECT_EQ(body["status"], 4);
  json stats = json::parse(sim.raw_get("/jobsim/stats").body);
  EXPECT_EQ(stats["callbacks"]["failed"], 1);
}

TEST(JobsimStatsTest, CountsPerEndpointAndPerJobAndResets) {
  Jobsim sim;
  json a = sim.run_script("true", {101});
  json b = sim.run_script("true", {102});
  sim.wait_finished(a["job_instance_id"]);
  sim.wait_finished(b["job_instance_id"]);
  json before = json::parse(sim.raw_get("/jobsim/stats").body);
  uint64_t reads_a = before["status_reads"][std::to_string(a["job_instance_id"].get<int64_t>())];
  for (int i = 0; i < 3; ++i) sim.status(a["job_instance_id"]);
  sim.raw_get("/api/c/compapi/v2/jobv3/get_job_instance_status/?bk_biz_id=1&job_instance_id=" +
              std::to_string(a["job_instance_id"].get<int64_t>()));
  json stats = json::parse(sim.raw_get("/jobsim/stats").body);
  EXPECT_EQ(stats["requests"]["fast_execute_script"], 2);
  EXPECT_EQ(stats["status_reads"][std::to_string(a["job_instance_id"].get<int64_t>())],
            reads_a + 4);
  EXPECT_EQ(stats["requests"]["get_job_instance_status"],
            before["requests"]["get_job_instance_status"].get<uint64_t>() + 4);
  EXPECT_EQ(stats["requests_by_mode"]["esb"], 1);
  uint64_t by_second = 0;
  for (const auto& [second, reads] : stats["status_reads_by_second"].items()) {
    by_second += reads.get<uint64_t>();
  }
  EXPECT_EQ(by_second, stats["requests"]["get_job_instance_status"].get<uint64_t>());
  EXPECT_EQ(stats["jobs"]["created_total"], 2);
  EXPECT_EQ(stats["jobs"]["running"], 0);
  auto r = sim.raw_post("/jobsim/admin/stats/reset", "");
  EXPECT_EQ(r.status, 200);
  stats = json::parse(sim.raw_get("/jobsim/stats").body);
  EXPECT_EQ(stats["requests_total"], 0);
  EXPECT_TRUE(stats["status_reads"].empty());
  EXPECT_TRUE(stats["status_reads_by_second"].empty());
}

TEST(JobsimStatsTest, FinishedJobsAreKeptUpToTheLimit) {
  Jobsim sim({"--hosts", "2", "--keep-jobs", "3"});
  std::vector<int64_t> jobs;
  for (int i = 0; i < 5; ++i) {
    json d = sim.run_script("true", {101});
    jobs.push_back(d["job_instance_id"]);
    sim.wait_finished(jobs.back());
  }
  // The two oldest are gone, the three newest still readable.
  for (int i = 0; i < 5; ++i) {
    json env =
        sim.get("get_job_instance_status",
                "bk_scope_type=biz&bk_scope_id=1&job_instance_id=" + std::to_string(jobs[i]));
    EXPECT_EQ(env["code"], i < 2 ? 1244006 : 0) << i;
  }
}

TEST(JobsimSyntheticTest, TenThousandHostsWithoutProcesses) {
  Jobsim sim({"--hosts", "10000", "--executor", "synthetic", "--synthetic-min-ms", "200",
              "--synthetic-max-ms", "600", "--synthetic-fail-rate", "0.1", "--seed", "3"});
  std::vector<int64_t> ids;
  for (int64_t i = 101; i < 10101; ++i) ids.push_back(i);
  json data = sim.run_script("this never runs", ids);
  int64_t job = data["job_instance_id"];
  const std::string q = "bk_scope_type=biz&bk_scope_id=1&job_instance_id=" + std::to_string(job);
  EXPECT_FALSE(sim.get("get_job_instance_status", q)["data"]["finished"].get<bool>());
  // Poll the light status (no host list) until the end, then read the hosts once.
  EXPECT_TRUE(jobgw::testing::wait_until(
      [&] { return sim.get("get_job_instance_status", q)["data"]["finished"].get<bool>(); }, 30s,
      100ms));
  json st = sim.status(job);
  EXPECT_EQ(st["job_instance"]["status"], 4);
  int ok = 0, failed = 0;
  for (auto& [id, h] : host_results(st)) {
    if (h["status"] == 9) ++ok;
    if (h["status"] == 104) {
      ++failed;
      EXPECT_EQ(h["exit_code"], 1);
    }
    EXPECT_GE(h["total_time"].get<int64_t>(), 190);
    EXPECT_LE(h["total_time"].get<int64_t>(), 2000);
  }
  EXPECT_EQ(ok + failed, 10000);
  EXPECT_GT(failed, 800);
  EXPECT_LT(failed, 1200);
  EXPECT_EQ(json::parse(sim.raw_get("/jobsim/healthz").body)["executor"], "synthetic");
}

TEST(JobsimSyntheticTest, TerminateAndTimeout) {
  Jobsim sim({"--hosts", "4", "--executor", "synthetic", "--synthetic-min-ms", "4000",
              "--synthetic-max-ms", "4000"});
  json d = sim.run_script("x", {101, 102});
  json op = scope_biz1();
  op["job_instance_id"] = d["job_instance_id"];
  op["operation_code"] = 1;
  EXPECT_EQ(sim.post("operate_job_instance", op)["code"], 0);
  json st = sim.wait_finished(d["job_instance_id"], 3s);
  EXPECT_EQ(st["job_instance"]["status"], 8);
  for (auto& [id, h] : host_results(st)) EXPECT_EQ(h["status"], 103);
  json t = sim.run_script("x", {103}, {{"timeout", 1}});
  st = sim.wait_finished(t["job_instance_id"], 3s);
  EXPECT_EQ(host_results(st)[103]["status"], 102);
  EXPECT_EQ(st["job_instance"]["status"], 4);
}

}  // namespace
}  // namespace jobsim_test
