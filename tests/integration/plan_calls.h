#pragma once

// Calls of the job-plan RPCs and a watch read event by event, shared by the job-plan tests on
// one jobgw and on replicas. Plans are jobsim's built-in ones (jobsim/README.md "Job plans").
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "jobgw/v1/job_gateway.grpc.pb.h"

namespace jobgw::testing {

inline constexpr std::int64_t kThreeSteps = 1;  // set greeting, confirm, print greeting
inline constexpr std::int64_t kMayFail = 2;     // fails on each host the first time, then "after"

inline v1::ExecuteJobPlanRequest plan_request(std::int64_t plan) {
  v1::ExecuteJobPlanRequest r;
  r.mutable_scope()->set_id("1");
  r.set_job_plan_id(plan);
  return r;
}

inline v1::PlanVariable* add_var(v1::ExecuteJobPlanRequest& r, const std::string& name,
                                 const std::string& value) {
  v1::PlanVariable* v = r.add_variables();
  v->set_name(name);
  v->set_value(value);
  return v;
}

struct PlanRun {
  grpc::Status status;
  v1::JobRef ref;
};

inline PlanRun execute_plan(v1::JobGateway::Stub& stub, const v1::ExecuteJobPlanRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  PlanRun run;
  run.status = stub.ExecuteJobPlan(&context, request, &run.ref);
  return run;
}

inline grpc::Status operate(v1::JobGateway::Stub& stub, std::int64_t job, std::int64_t step,
                            v1::StepOperation operation) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::OperateStepRequest r;
  r.mutable_scope()->set_id("1");
  r.set_job_instance_id(job);
  r.set_step_instance_id(step);
  r.set_operation(operation);
  v1::OperateStepResponse response;
  return stub.OperateStep(&context, r, &response);
}

inline v1::JobOutputs outputs(v1::JobGateway::Stub& stub, std::int64_t job, bool per_step = false) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::GetJobOutputsRequest r;
  r.mutable_scope()->set_id("1");
  r.set_job_instance_id(job);
  r.set_per_step(per_step);
  v1::JobOutputs out;
  grpc::Status status = stub.GetJobOutputs(&context, r, &out);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return out;
}

inline std::string output(const google::protobuf::RepeatedPtrField<v1::OutputVar>& vars,
                          const std::string& name) {
  for (const auto& v : vars) {
    if (v.name() == name) return v.value();
  }
  return "<none>";
}

// A watch read event by event: until() reads until `pred` holds for an event (returned), or the
// stream ends (nullopt).
class Watch {
 public:
  Watch(v1::JobGateway::Stub& stub, std::int64_t job, std::uint64_t after_seq = 0) {
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::WatchStatusRequest r;
    r.mutable_scope()->set_id("1");
    r.set_job_instance_id(job);
    r.set_after_seq(after_seq);
    reader_ = stub.WatchStatus(&context_, r);
  }
  std::optional<v1::StatusEvent> until(const std::function<bool(const v1::StatusEvent&)>& pred) {
    v1::StatusEvent e;
    while (reader_->Read(&e)) {
      events_.push_back(e);
      if (pred(e)) return e;
    }
    status_ = reader_->Finish();
    return std::nullopt;
  }
  std::optional<v1::StatusEvent> finished() {
    return until([](const v1::StatusEvent& e) { return e.kind() == v1::EVENT_KIND_FINISHED; });
  }
  const std::vector<v1::StatusEvent>& events() const { return events_; }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::StatusEvent>> reader_;
  std::vector<v1::StatusEvent> events_;
  grpc::Status status_;
};

inline bool waits_for_user(const v1::StatusEvent& e) {
  return e.kind() == v1::EVENT_KIND_STEP_WAITING_USER;
}

}  // namespace jobgw::testing
