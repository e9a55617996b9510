#include <gtest/gtest.h>

#include "jobsim/faults.h"

namespace jobsim {
namespace {

TEST(FaultSpecTest, ParsesEveryKind) {
  auto r = parse_fault_spec("get_job_instance_status:latency=250@0.5#3");
  EXPECT_EQ(r.endpoint, "get_job_instance_status");
  EXPECT_EQ(r.kind, FaultKind::kLatency);
  EXPECT_EQ(r.value, 250);
  EXPECT_DOUBLE_EQ(r.rate, 0.5);
  EXPECT_EQ(r.max, 3);
  r = parse_fault_spec("*:throttle");
  EXPECT_EQ(r.kind, FaultKind::kThrottle);
  EXPECT_EQ(r.value, 1);
  EXPECT_DOUBLE_EQ(r.rate, 1.0);
  EXPECT_EQ(r.max, -1);
  EXPECT_EQ(parse_fault_spec("*:throttle=9").value, 9);
  EXPECT_EQ(parse_fault_spec("fast_execute_script:status=502").kind, FaultKind::kStatus);
  EXPECT_EQ(parse_fault_spec("fast_execute_script:html=504").value, 504);
  EXPECT_EQ(parse_fault_spec("fast_transfer_file:truncate@0.1").kind, FaultKind::kTruncate);
  EXPECT_EQ(parse_fault_spec("operate_job_instance:reset").kind, FaultKind::kReset);
  r = parse_fault_spec("get_job_instance_ip_log:code=1244032");
  EXPECT_EQ(r.kind, FaultKind::kCode);
  EXPECT_EQ(r.value, 1244032);
}

TEST(FaultSpecTest, RejectsBadSpecs) {
  for (const char* bad : {"latency=5", "nope:latency=5", "*:latency", "*:latency=x", "*:status=200",
                          "*:status=600", "*:html", "*:truncate=3", "*:reset=1", "*:code",
                          "*:explode", "*:reset@1.5", "*:reset@x", "*:reset#-1", "*:code=0"}) {
    EXPECT_THROW(parse_fault_spec(bad), std::invalid_argument) << bad;
  }
}

TEST(FaultInjectorTest, RatesFollowTheSeedAndMaxIsHonoured) {
  auto draw = [](uint64_t seed) {
    FaultInjector f(seed);
    f.add(parse_fault_spec("*:status=500@0.3"));
    std::string seq;
    for (int i = 0; i < 400; ++i) seq += f.decide("fast_execute_script").action ? '1' : '0';
    return seq;
  };
  std::string a = draw(7), b = draw(7), c = draw(8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  auto ones = std::count(a.begin(), a.end(), '1');
  EXPECT_GT(ones, 80);
  EXPECT_LT(ones, 160);

  FaultInjector f(1);
  f.add(parse_fault_spec("get_job_instance_status:latency=10"));
  f.add(parse_fault_spec("get_job_instance_status:latency=5"));
  f.add(parse_fault_spec("get_job_instance_status:code=1240002#2"));
  f.add(parse_fault_spec("get_job_instance_status:reset"));
  auto d = f.decide("get_job_instance_status");
  EXPECT_EQ(d.latency_ms, 15);
  ASSERT_TRUE(d.action);
  EXPECT_EQ(d.action->kind, FaultKind::kCode);
  EXPECT_EQ(f.decide("get_job_instance_status").action->kind, FaultKind::kCode);
  EXPECT_EQ(f.decide("get_job_instance_status").action->kind, FaultKind::kReset);  // max reached
  EXPECT_FALSE(f.decide("fast_execute_script").action);  // other endpoint untouched
  EXPECT_EQ(f.rules()[2].injected, 2u);
}

}  // namespace
}  // namespace jobsim
