#include <gtest/gtest.h>

#include "jobsim/api_error.h"
#include "jobsim/job_store.h"

namespace jobsim {
namespace {

class FakeClock : public Clock {
 public:
  int64_t now = 1000;
  int64_t now_ms() const override { return now; }
};

std::shared_ptr<Job> make_job(JobStore& store, int hosts) {
  auto job = std::make_shared<Job>();
  for (int i = 0; i < hosts; ++i) {
    HostResult r;
    r.host.host_id = 101 + i;
    job->hosts.push_back(r);
  }
  return store.add(job);
}

TEST(JobStoreTest, TransitionsTimesAndTheFinishedHook) {
  FakeClock clock;
  JobStore store(clock, 10, 1024);
  std::vector<int64_t> finished;
  store.set_finished_hook([&](const std::shared_ptr<Job>& j) { finished.push_back(j->id); });
  auto job = make_job(store, 2);
  EXPECT_EQ(job->status, job_status::kPending);
  EXPECT_EQ(job->create_ms, 1000);
  clock.now = 1100;
  store.job_started(job);
  EXPECT_EQ(job->status, job_status::kRunning);
  EXPECT_EQ(job->start_ms, 1100);
  clock.now = 1200;
  store.host_running(job, 0);
  EXPECT_EQ(job->hosts[0].status, host_status::kRunning);
  EXPECT_EQ(job->hosts[0].start_ms, 1200);
  clock.now = 1500;
  store.host_finished(job, 0, host_status::kSuccess);
  EXPECT_TRUE(finished.empty());
  store.host_finished(job, 0, host_status::kNonZeroExit, 3);  // already final: ignored
  EXPECT_EQ(job->hosts[0].status, host_status::kSuccess);
  clock.now = 1700;
  store.host_finished(job, 1, host_status::kNonZeroExit, 2, "bye");
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_TRUE(job->finished);
  EXPECT_EQ(job->status, job_status::kFailed);
  EXPECT_EQ(job->end_ms, 1700);
  EXPECT_EQ(job->hosts[1].exit_code, 2);
  EXPECT_EQ(job->hosts[1].log, "bye\n");
  int64_t code = 0;
  std::string why;
  EXPECT_FALSE(store.begin_terminate(job, &code, &why));
  EXPECT_EQ(code, code::kIllegalParamReason);
}

TEST(JobStoreTest, TerminateCapAndEviction) {
  FakeClock clock;
  JobStore store(clock, 2, 10);
  auto a = make_job(store, 1);
  int64_t code = 0;
  std::string why;
  EXPECT_TRUE(store.begin_terminate(a, &code, &why));
  EXPECT_EQ(a->status, job_status::kTerminating);
  EXPECT_FALSE(store.begin_terminate(a, &code, &why));
  EXPECT_EQ(code, code::kJobTerminating);
  store.append_log(a, 0, "0123456789abc", 13);
  EXPECT_EQ(a->hosts[0].log.substr(0, 10), "0123456789");
  EXPECT_TRUE(a->hosts[0].log_truncated);
  store.host_finished(a, 0, host_status::kScriptTerminated);
  EXPECT_EQ(a->status, job_status::kTerminated);

  auto b = make_job(store, 1);  // running
  auto c = make_job(store, 1);  // evicts a (finished), never b (running)
  EXPECT_EQ(store.find(a->id), nullptr);
  EXPECT_NE(store.find(b->id), nullptr);
  auto d = make_job(store, 1);
  EXPECT_NE(store.find(b->id), nullptr);  // still running, kept beyond the limit
  EXPECT_NE(store.find(d->id), nullptr);
  EXPECT_GT(c->id, b->id);
  EXPECT_GT(c->step_id, b->step_id);
}

}  // namespace
}  // namespace jobsim
