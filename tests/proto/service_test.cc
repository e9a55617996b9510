// The service has exactly the RPCs of the contract, with the right
// request/response types and streaming flags, and the generated code offers
// the callback API the server and client are written against.

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <type_traits>

#include "jobgw/v1/job_gateway.grpc.pb.h"

namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

struct ExpectedRpc {
  const char* name;
  const char* input;
  const char* output;
  bool server_streaming;
};

constexpr ExpectedRpc kRpcs[] = {
    {"ExecuteScript", "jobgw.v1.ExecuteScriptRequest", "jobgw.v1.JobRef", false},
    {"TransferFile", "jobgw.v1.TransferFileRequest", "jobgw.v1.JobRef", false},
    {"WatchStatus", "jobgw.v1.WatchStatusRequest", "jobgw.v1.StatusEvent", true},
    {"GetIpLogs", "jobgw.v1.GetIpLogsRequest", "jobgw.v1.GetIpLogsResponse", false},
    {"GetJobStatus", "jobgw.v1.GetJobStatusRequest", "jobgw.v1.JobSnapshot", false},
    {"TerminateJob", "jobgw.v1.TerminateJobRequest", "jobgw.v1.TerminateJobResponse", false},
    {"ListJobs", "jobgw.v1.ListJobsRequest", "jobgw.v1.ListJobsResponse", false},
    {"FollowLogs", "jobgw.v1.FollowLogsRequest", "jobgw.v1.LogEvent", true},
    {"ListJobPlans", "jobgw.v1.ListJobPlansRequest", "jobgw.v1.ListJobPlansResponse", false},
    {"GetJobPlan", "jobgw.v1.GetJobPlanRequest", "jobgw.v1.JobPlan", false},
    {"ExecuteJobPlan", "jobgw.v1.ExecuteJobPlanRequest", "jobgw.v1.JobRef", false},
    {"OperateStep", "jobgw.v1.OperateStepRequest", "jobgw.v1.OperateStepResponse", false},
    {"GetJobOutputs", "jobgw.v1.GetJobOutputsRequest", "jobgw.v1.JobOutputs", false},
};

const ServiceDescriptor* Service() {
  return DescriptorPool::generated_pool()->FindServiceByName("jobgw.v1.JobGateway");
}

TEST(Service, IsInTheGeneratedPool) {
  const ServiceDescriptor* s = Service();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->file()->package(), "jobgw.v1");
  EXPECT_EQ(s->file()->name(), "jobgw/v1/job_gateway.proto");
  EXPECT_EQ(s->file()->service_count(), 1);
}

TEST(Service, HasExactlyTheContractsRpcs) {
  const ServiceDescriptor* s = Service();
  ASSERT_NE(s, nullptr);
  std::set<std::string> actual;
  for (int i = 0; i < s->method_count(); ++i) actual.insert(s->method(i)->name());
  std::set<std::string> expected;
  for (const auto& rpc : kRpcs) expected.insert(rpc.name);
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(s->method_count(), 13);
}

TEST(Service, TypesAndStreamingFlags) {
  const ServiceDescriptor* s = Service();
  ASSERT_NE(s, nullptr);
  for (const auto& rpc : kRpcs) {
    SCOPED_TRACE(rpc.name);
    const MethodDescriptor* m = s->FindMethodByName(rpc.name);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->input_type()->full_name(), rpc.input);
    EXPECT_EQ(m->output_type()->full_name(), rpc.output);
    EXPECT_FALSE(m->client_streaming());
    EXPECT_EQ(m->server_streaming(), rpc.server_streaming);
  }
}

// A server written against the callback API.
class CallbackImpl final : public jobgw::v1::JobGateway::CallbackService {
 public:
  grpc::Service* GetService() { return this; }
  grpc::ServerUnaryReactor* ExecuteScript(grpc::CallbackServerContext*,
                                          const jobgw::v1::ExecuteScriptRequest*,
                                          jobgw::v1::JobRef*) override {
    return nullptr;
  }
  grpc::ServerWriteReactor<jobgw::v1::StatusEvent>* WatchStatus(
      grpc::CallbackServerContext*, const jobgw::v1::WatchStatusRequest*) override {
    return nullptr;
  }
};

// A client written against the callback API (compiled, never called).
[[maybe_unused]] void UseCallbackClient(jobgw::v1::JobGateway::Stub* stub, grpc::ClientContext* ctx,
                                        const jobgw::v1::WatchStatusRequest* req,
                                        grpc::ClientReadReactor<jobgw::v1::StatusEvent>* reactor) {
  stub->async()->WatchStatus(ctx, req, reactor);
}

TEST(Service, GeneratedMethodPathsAndCallbackApi) {
  // Paths on the wire are fixed by package + service + method names.
  EXPECT_EQ(std::string(jobgw::v1::JobGateway::service_full_name()), "jobgw.v1.JobGateway");
  // The callback API (the server is written against it) and the async stub exist.
  static_assert(std::is_class_v<jobgw::v1::JobGateway::CallbackService>);
  static_assert(std::is_class_v<jobgw::v1::JobGateway::Stub>);
  static_assert(
      std::is_base_of_v<jobgw::v1::JobGateway::StubInterface, jobgw::v1::JobGateway::Stub>);
  // Overriding with `override` pins the callback signatures (server-streaming WatchStatus
  // returns a write reactor); this fails to compile if the generated API differs.
  CallbackImpl impl;
  EXPECT_NE(impl.GetService(), nullptr);
  (void)&UseCallbackClient;
  SUCCEED();
}

}  // namespace
