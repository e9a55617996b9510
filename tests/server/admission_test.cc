// Admission alone: the two overload limits, their refusal messages and their metrics.
#include "server/admission.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/metrics/metrics.h"
#include "server/server_metrics.h"

namespace jobgw::server {
namespace {

using Kind = Admission::Kind;

TEST(AdmissionTest, RefusesBeyondEachLimitAndAdmitsAgainAfterARelease) {
  Admission admission(AdmissionLimits{2, 1});
  EXPECT_TRUE(admission.admit(Kind::kStream));
  EXPECT_TRUE(admission.admit(Kind::kStream));
  EXPECT_FALSE(admission.admit(Kind::kStream));
  // The limits are independent.
  EXPECT_TRUE(admission.admit(Kind::kJobCall));
  EXPECT_FALSE(admission.admit(Kind::kJobCall));
  EXPECT_EQ(admission.in_use(Kind::kStream), 2u);
  EXPECT_EQ(admission.in_use(Kind::kJobCall), 1u);

  admission.release(Kind::kStream);
  EXPECT_EQ(admission.in_use(Kind::kStream), 1u);
  EXPECT_TRUE(admission.admit(Kind::kStream));
  admission.release(Kind::kJobCall);
  EXPECT_TRUE(admission.admit(Kind::kJobCall));
}

TEST(AdmissionTest, RefusalNamesTheLimitKeyAndValue) {
  Admission admission(AdmissionLimits{5, 40});
  std::string streams = admission.refusal(Kind::kStream);
  EXPECT_NE(streams.find("limits.max_streams"), std::string::npos) << streams;
  EXPECT_NE(streams.find("5 WatchStatus streams"), std::string::npos) << streams;
  std::string calls = admission.refusal(Kind::kJobCall);
  EXPECT_NE(calls.find("limits.max_inflight_job_calls"), std::string::npos) << calls;
  EXPECT_NE(calls.find("40 "), std::string::npos) << calls;
  EXPECT_EQ(admission.limit(Kind::kStream), 5u);
  EXPECT_EQ(admission.limit(Kind::kJobCall), 40u);
}

TEST(AdmissionTest, MetricsTrackSlotsInUseAndCountRefusals) {
  core::Metrics core_metrics;
  ServerMetrics metrics(core_metrics);
  Admission admission(AdmissionLimits{1, 1}, &metrics);
  std::string text = metrics.serialize();
  EXPECT_NE(text.find("jobgw_admission_in_use{limit=\"limits.max_streams\"} 0"), std::string::npos)
      << text;
  EXPECT_NE(
      text.find("jobgw_admission_rejections_total{limit=\"limits.max_inflight_job_calls\"} 0"),
      std::string::npos)
      << text;

  ASSERT_TRUE(admission.admit(Kind::kStream));
  EXPECT_FALSE(admission.admit(Kind::kStream));
  EXPECT_FALSE(admission.admit(Kind::kStream));
  text = metrics.serialize();
  EXPECT_NE(text.find("jobgw_admission_in_use{limit=\"limits.max_streams\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("jobgw_admission_rejections_total{limit=\"limits.max_streams\"} 2"),
            std::string::npos)
      << text;
  admission.release(Kind::kStream);
  text = metrics.serialize();
  EXPECT_NE(text.find("jobgw_admission_in_use{limit=\"limits.max_streams\"} 0"), std::string::npos)
      << text;
}

TEST(AdmissionTest, ConcurrentCallersNeverExceedTheLimit) {
  constexpr std::size_t kLimit = 4;
  Admission admission(AdmissionLimits{kLimit, kLimit});
  std::atomic<std::size_t> holding{0};
  std::atomic<std::size_t> peak{0};
  std::atomic<std::size_t> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        if (!admission.admit(Kind::kJobCall)) {
          refused++;
          continue;
        }
        std::size_t now = ++holding;
        std::size_t seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        --holding;
        admission.release(Kind::kJobCall);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(peak.load(), kLimit);
  EXPECT_EQ(admission.in_use(Kind::kJobCall), 0u);
}

}  // namespace
}  // namespace jobgw::server
