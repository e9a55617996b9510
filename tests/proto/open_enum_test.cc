// A status number JOB adds later (here 777) must pass through jobgw unchanged:
// proto3 enums are open, so the number survives serialise/parse and JSON.

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <string>

#include "jobgw/v1/job_gateway.pb.h"

namespace {

constexpr int kFutureCode = 777;

template <typename M>
M RoundTrip(const M& in) {
  std::string wire;
  EXPECT_TRUE(in.SerializeToString(&wire));
  M out;
  EXPECT_TRUE(out.ParseFromString(wire));
  return out;
}

TEST(OpenEnums, UnknownCodeIsNotAKnownValue) {
  EXPECT_FALSE(jobgw::v1::JobStatus_IsValid(kFutureCode));
  EXPECT_FALSE(jobgw::v1::HostStatus_IsValid(kFutureCode));
}

TEST(OpenEnums, UnknownStatusesSurviveSerializeParse) {
  jobgw::v1::JobSnapshot snap;
  snap.set_job_instance_id(100);
  snap.set_status(static_cast<jobgw::v1::JobStatus>(kFutureCode));
  auto* step = snap.add_steps();
  step->set_step_instance_id(75);
  step->set_type(static_cast<jobgw::v1::StepType>(kFutureCode));
  step->set_status(static_cast<jobgw::v1::JobStatus>(kFutureCode));
  auto* host = step->add_hosts();
  host->mutable_host()->set_host_id(101);
  host->set_status(static_cast<jobgw::v1::HostStatus>(kFutureCode));

  const jobgw::v1::JobSnapshot out = RoundTrip(snap);
  EXPECT_EQ(static_cast<int>(out.status()), kFutureCode);
  ASSERT_EQ(out.steps_size(), 1);
  EXPECT_EQ(static_cast<int>(out.steps(0).type()), kFutureCode);
  EXPECT_EQ(static_cast<int>(out.steps(0).status()), kFutureCode);
  ASSERT_EQ(out.steps(0).hosts_size(), 1);
  EXPECT_EQ(static_cast<int>(out.steps(0).hosts(0).status()), kFutureCode);
  // Nothing was parked in unknown fields: the value is in the field itself.
  EXPECT_EQ(
      out.steps(0).hosts(0).GetReflection()->GetUnknownFields(out.steps(0).hosts(0)).field_count(),
      0);
}

TEST(OpenEnums, UnknownStatusesSurviveInsideEvents) {
  jobgw::v1::StatusEvent ev;
  ev.set_seq(7);
  ev.set_kind(jobgw::v1::EVENT_KIND_HOST_CHANGED);
  auto* change = ev.mutable_host();
  change->set_step_instance_id(75);
  change->set_old_status(jobgw::v1::HOST_STATUS_RUNNING);
  change->set_new_status(static_cast<jobgw::v1::HostStatus>(kFutureCode));

  const jobgw::v1::StatusEvent out = RoundTrip(ev);
  ASSERT_EQ(out.change_case(), jobgw::v1::StatusEvent::kHost);
  EXPECT_EQ(out.host().old_status(), jobgw::v1::HOST_STATUS_RUNNING);
  EXPECT_EQ(static_cast<int>(out.host().new_status()), kFutureCode);

  jobgw::v1::StatusEvent job_ev;
  job_ev.mutable_job()->set_new_status(static_cast<jobgw::v1::JobStatus>(kFutureCode));
  EXPECT_EQ(static_cast<int>(RoundTrip(job_ev).job().new_status()), kFutureCode);
}

TEST(OpenEnums, UnknownFileLogCodesSurvive) {
  jobgw::v1::GetIpLogsResponse resp;
  resp.set_log_type(static_cast<jobgw::v1::LogType>(kFutureCode));
  auto* entry = resp.add_file_logs()->add_entries();
  entry->set_mode(static_cast<jobgw::v1::FileLogMode>(kFutureCode));
  entry->set_status(static_cast<jobgw::v1::FileLogStatus>(kFutureCode));

  const jobgw::v1::GetIpLogsResponse out = RoundTrip(resp);
  EXPECT_EQ(static_cast<int>(out.log_type()), kFutureCode);
  EXPECT_EQ(static_cast<int>(out.file_logs(0).entries(0).mode()), kFutureCode);
  EXPECT_EQ(static_cast<int>(out.file_logs(0).entries(0).status()), kFutureCode);
}

TEST(OpenEnums, UnknownStatusSurvivesJson) {
  // jobctl and grpcurl print JSON; an unknown code must show as its number.
  jobgw::v1::HostResult in;
  in.set_status(static_cast<jobgw::v1::HostStatus>(kFutureCode));
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(in, &json).ok());
  EXPECT_NE(json.find("777"), std::string::npos) << json;

  jobgw::v1::HostResult out;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &out).ok()) << json;
  EXPECT_EQ(static_cast<int>(out.status()), kFutureCode);
}

TEST(OpenEnums, HostStatusZeroIsJobUnknownErrorAndIsSerialisedImplicitly) {
  // 0 is a real JOB code; in proto3 it is also the default, so "status 0" and
  // "status unset" are the same thing on the wire. Document-by-test.
  jobgw::v1::HostResult r;
  r.set_status(jobgw::v1::HOST_STATUS_UNKNOWN_ERROR);
  EXPECT_EQ(RoundTrip(r).status(), jobgw::v1::HOST_STATUS_UNKNOWN_ERROR);
  jobgw::v1::FileLog f;
  f.set_mode(jobgw::v1::FILE_LOG_MODE_UPLOAD);
  EXPECT_EQ(RoundTrip(f).mode(), jobgw::v1::FILE_LOG_MODE_UPLOAD);
}

}  // namespace
