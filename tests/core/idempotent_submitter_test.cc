#include "core/submit/idempotent_submitter.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/submit/memory_submit_store.h"
#include "tests/support/manual_scheduler.h"

namespace jobgw::core {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

const Scope kScope{"biz", "1"};

IdempotencyKey key(const std::string& request_id, const std::string& caller = "anonymous") {
  return IdempotencyKey{caller, "biz:1", request_id};
}

// A JOB whose submits the test answers by hand; counts what it was asked.
class FakeJob {
 public:
  IdempotentSubmitter::Send send() {
    return [this](IdempotentSubmitter::SendDone done) { pending_.push_back(std::move(done)); };
  }
  int asked() const { return asked_total_ + static_cast<int>(pending_.size()); }
  std::size_t pending() const { return pending_.size(); }
  void answer(Result<JobRef> result) {
    ASSERT_FALSE(pending_.empty());
    auto done = std::move(pending_.front());
    pending_.erase(pending_.begin());
    asked_total_++;
    done(std::move(result));
  }

 private:
  std::vector<IdempotentSubmitter::SendDone> pending_;
  int asked_total_ = 0;
};

struct Answer {
  bool called = false;
  std::optional<Result<JobRef>> result;
  SubmitSource source = SubmitSource::kJob;
};

IdempotentSubmitter::Done into(Answer* answer) {
  return [answer](Result<JobRef> result, SubmitSource source) {
    EXPECT_FALSE(answer->called) << "done ran twice";
    answer->called = true;
    answer->result.emplace(std::move(result));
    answer->source = source;
  };
}

JobRef ref(std::int64_t job) {
  JobRef r;
  r.job_instance_id = job;
  r.step_instance_id = job + 1;
  r.job_instance_name = "job";
  return r;
}

Error job_error(ErrorKind kind, std::int64_t code = 0) {
  Error e;
  e.kind = kind;
  e.job_code = code;
  e.message = "refused";
  return e;
}

struct Fixture {
  ManualScheduler scheduler;
  MemorySubmitStore store;
  IdempotentSubmitter submitter{store, scheduler, hours(24)};
  FakeJob job;
};

TEST(IdempotentSubmitter, FirstSubmitAsksJobAndRecordsTheJobAsUnfinished) {
  Fixture f;
  Answer a;
  f.submitter.submit(kScope, key("r1"), "fp", f.job.send(), into(&a));
  EXPECT_FALSE(a.called);
  f.job.answer(ref(10));
  ASSERT_TRUE(a.called);
  ASSERT_TRUE(*a.result);
  EXPECT_EQ(a.result->value().job_instance_id, 10);
  EXPECT_EQ(a.source, SubmitSource::kJob);
  auto jobs = f.submitter.unfinished().value();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].job_instance_id, 10);
  EXPECT_EQ(jobs[0].scope.id, "1");
}

TEST(IdempotentSubmitter, TheSameKeyAgainAnswersTheFirstJobWithoutAskingJob) {
  Fixture f;
  Answer first, second;
  f.submitter.submit(kScope, key("r1"), "fp", f.job.send(), into(&first));
  f.job.answer(ref(10));
  f.submitter.submit(kScope, key("r1"), "fp", f.job.send(), into(&second));
  ASSERT_TRUE(second.called);
  EXPECT_EQ(f.job.asked(), 1);
  EXPECT_EQ(second.source, SubmitSource::kRemembered);
  EXPECT_EQ(second.result->value().job_instance_id, 10);
  EXPECT_EQ(second.result->value().step_instance_id, 11);
}

TEST(IdempotentSubmitter, ADuplicateInFlightWaitsForTheFirstAnswer) {
  Fixture f;
  Answer first, second, third;
  f.submitter.submit(kScope, key("r1"), "fp", f.job.send(), into(&first));
  f.submitter.submit(kScope, key("r1"), "fp", f.job.send(), into(&second));
  f.submitter.submit(kScope, key("r1"), "fp", f.job.send(), into(&third));
  EXPECT_EQ(f.job.asked(), 1);
  EXPECT_FALSE(second.called);
  EXPECT_FALSE(third.called);
  f.job.answer(ref(10));
  for (Answer* a : {&first, &second, &third}) {
    ASSERT_TRUE(a->called);
    EXPECT_EQ(a->result->value().job_instance_id, 10);
  }
  EXPECT_EQ(first.source, SubmitSource::kJob);
  EXPECT_EQ(second.source, SubmitSource::kJoined);
  EXPECT_EQ(third.source, SubmitSource::kJoined);
  EXPECT_EQ(f.job.asked(), 1);
}

TEST(IdempotentSubmitter, ADifferentRequestUnderTheSameKeyConflicts) {
  Fixture f;
  Answer first, in_flight, later;
  f.submitter.submit(kScope, key("r1"), "fp", f.job.send(), into(&first));
  f.submitter.submit(kScope, key("r1"), "other", f.job.send(), into(&in_flight));
  ASSERT_TRUE(in_flight.called);
  ASSERT_FALSE(*in_flight.result);
  EXPECT_EQ(in_flight.result->error().kind, ErrorKind::kConflict);
  EXPECT_NE(in_flight.result->error().message.find("request_id: 'r1'"), std::string::npos)
      << in_flight.result->error().message;
  f.job.answer(ref(10));
  f.submitter.submit(kScope, key("r1"), "other", f.job.send(), into(&later));
  ASSERT_TRUE(later.called);
  ASSERT_FALSE(*later.result);
  EXPECT_EQ(later.result->error().kind, ErrorKind::kConflict);
  EXPECT_NE(later.result->error().message.find("job_instance_id 10"), std::string::npos)
      << later.result->error().message;
  EXPECT_EQ(f.job.asked(), 1);
  EXPECT_TRUE(first.result->ok());
}

TEST(IdempotentSubmitter, KeysAreSeparatePerCallerAndPerRequestId) {
  Fixture f;
  Answer a, b, c;
  f.submitter.submit(kScope, key("r1"), "fp", f.job.send(), into(&a));
  f.submitter.submit(kScope, key("r1", "someone-else"), "fp", f.job.send(), into(&b));
  f.submitter.submit(kScope, key("r2"), "fp", f.job.send(), into(&c));
  EXPECT_EQ(f.job.asked(), 3);
}

TEST(IdempotentSubmitter, AFailureReachesEveryWaiterAndReleasesTheKey) {
  Fixture f;
  Answer first, waiter, retry;
  f.submitter.submit(kScope, key("r1"), "fp", f.job.send(), into(&first));
  f.submitter.submit(kScope, key("r1"), "fp", f.job.send(), into(&waiter));
  f.job.answer(job_error(ErrorKind::kJob, 1244032));
  ASSERT_TRUE(first.called);
  ASSERT_TRUE(waiter.called);
  EXPECT_EQ(first.result->error().job_code, 1244032);
  EXPECT_EQ(waiter.result->error().job_code, 1244032);
  EXPECT_EQ(waiter.source, SubmitSource::kJoined);
  EXPECT_TRUE(f.submitter.unfinished().value().empty());

  // Nothing was remembered: the retry asks JOB again.
  f.submitter.submit(kScope, key("r1"), "fp", f.job.send(), into(&retry));
  EXPECT_EQ(f.job.pending(), 1u);
  f.job.answer(ref(11));
  EXPECT_EQ(retry.result->value().job_instance_id, 11);
  EXPECT_EQ(f.job.asked(), 2);
}

TEST(IdempotentSubmitter, AKeyOlderThanTheWindowSubmitsAgain) {
  Fixture f;
  Answer first, inside, outside;
  f.submitter.submit(kScope, key("r1"), "fp", f.job.send(), into(&first));
  f.job.answer(ref(10));
  f.scheduler.advance(hours(23));
  f.submitter.submit(kScope, key("r1"), "fp", f.job.send(), into(&inside));
  EXPECT_EQ(inside.source, SubmitSource::kRemembered);
  f.scheduler.advance(hours(2));
  f.submitter.submit(kScope, key("r1"), "other body is fine now", f.job.send(), into(&outside));
  EXPECT_FALSE(outside.called);
  f.job.answer(ref(20));
  EXPECT_EQ(outside.result->value().job_instance_id, 20);
  EXPECT_EQ(f.job.asked(), 2);
}

TEST(IdempotentSubmitter, WithoutAKeyEverySubmitAsksJobAndIsRecorded) {
  Fixture f;
  Answer a, b;
  f.submitter.submit(kScope, std::nullopt, "fp", f.job.send(), into(&a));
  f.submitter.submit(kScope, std::nullopt, "fp", f.job.send(), into(&b));
  EXPECT_EQ(f.job.asked(), 2);
  f.job.answer(ref(10));
  f.job.answer(ref(11));
  EXPECT_EQ(f.submitter.unfinished().value().size(), 2u);
}

TEST(IdempotentSubmitter, FinishedAndUnknownJobsAreForgottenGivenUpOnesKept) {
  Fixture f;
  for (std::int64_t job : {10, 11, 12}) {
    Answer a;
    f.submitter.submit(kScope, std::nullopt, "fp", f.job.send(), into(&a));
    f.job.answer(ref(job));
  }
  f.submitter.watch_ended(kScope, 10, std::nullopt);
  f.submitter.watch_ended(kScope, 11, job_error(ErrorKind::kJob, 1244006));
  f.submitter.watch_ended(kScope, 12, job_error(ErrorKind::kTimeout));
  auto jobs = f.submitter.unfinished().value();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].job_instance_id, 12);
}

TEST(IdempotentSubmitter, ExpiryRunsNowAndThenPeriodically) {
  Fixture f;
  Answer a;
  f.submitter.submit(kScope, key("r1"), "fp", f.job.send(), into(&a));
  f.job.answer(ref(10));
  f.submitter.start_expiry(hours(1));
  EXPECT_EQ(f.submitter.unfinished().value().size(), 1u);
  f.scheduler.advance(hours(24));  // exactly the window: still kept
  EXPECT_EQ(f.submitter.unfinished().value().size(), 1u);
  f.scheduler.advance(hours(1));
  EXPECT_TRUE(f.submitter.unfinished().value().empty());
  EXPECT_FALSE(f.store.lookup(key("r1"), 0).value().has_value());
}

// A store that fails on demand, else a MemorySubmitStore.
class BrokenStore : public SubmitStore {
 public:
  bool fail_lookup = false;
  bool fail_record = false;
  Result<std::optional<RememberedSubmit>> lookup(const IdempotencyKey& k,
                                                 std::int64_t not_before_ms) override {
    if (fail_lookup) return Error::internal("disk on fire");
    return inner_.lookup(k, not_before_ms);
  }
  Result<void> record_submit(const SubmitRecord& record) override {
    if (fail_record) return Error::internal("disk full");
    return inner_.record_submit(record);
  }
  Result<void> forget_unfinished(const Scope& scope, std::int64_t job) override {
    return inner_.forget_unfinished(scope, job);
  }
  Result<std::vector<UnfinishedJob>> unfinished() override { return inner_.unfinished(); }
  Result<std::size_t> expire(std::int64_t before_ms) override { return inner_.expire(before_ms); }
  Result<std::uint64_t> start_run() override { return inner_.start_run(); }

 private:
  MemorySubmitStore inner_;
};

TEST(IdempotentSubmitter, AnUnreadableStoreFailsTheSubmitWithoutAskingJob) {
  ManualScheduler scheduler;
  BrokenStore store;
  store.fail_lookup = true;
  IdempotentSubmitter submitter(store, scheduler, hours(24));
  FakeJob job;
  Answer a;
  submitter.submit(kScope, key("r1"), "fp", job.send(), into(&a));
  ASSERT_TRUE(a.called);
  ASSERT_FALSE(*a.result);
  EXPECT_EQ(a.result->error().kind, ErrorKind::kInternal);
  EXPECT_NE(a.result->error().message.find("request_id 'r1'"), std::string::npos);
  EXPECT_EQ(job.asked(), 0);
}

TEST(IdempotentSubmitter, AnUnwritableStoreStillAnswersTheJobJobCreated) {
  ManualScheduler scheduler;
  BrokenStore store;
  store.fail_record = true;
  IdempotentSubmitter submitter(store, scheduler, hours(24));
  FakeJob job;
  Answer a, b;
  submitter.submit(kScope, key("r1"), "fp", job.send(), into(&a));
  job.answer(ref(10));
  ASSERT_TRUE(a.result->ok());
  EXPECT_EQ(a.result->value().job_instance_id, 10);
  // Nothing was stored, so the key is free again: the loss the log line reports.
  submitter.submit(kScope, key("r1"), "fp", job.send(), into(&b));
  EXPECT_EQ(job.asked(), 2);
}

}  // namespace
}  // namespace jobgw::core
