// Pins the names, types and field numbers other rooms rely on. Renaming or
// renumbering a field breaks wire or source compatibility; this test makes it
// a deliberate act.

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jobgw/v1/job_gateway.pb.h"

namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;

struct Field {
  const char* name;
  int number;
  const char* type;  // scalar type name, or full name of the message/enum
  bool repeated;
};

struct Message {
  const char* name;
  std::vector<Field> fields;
};

std::string TypeOf(const FieldDescriptor* f) {
  if (f->message_type() != nullptr) return f->message_type()->full_name();
  if (f->enum_type() != nullptr) return f->enum_type()->full_name();
  return f->type_name();
}

const std::vector<Message>& Contract() {
  static const std::vector<Message> kContract = {
      {"Scope", {{"type", 1, "string", false}, {"id", 2, "string", false}}},
      {"Host",
       {{"host_id", 1, "int64", false},
        {"cloud_id", 2, "int64", false},
        {"ip", 3, "string", false}}},
      {"TopoNode", {{"id", 1, "int64", false}, {"node_type", 2, "string", false}}},
      {"Targets",
       {{"host_ids", 1, "int64", true},
        {"hosts", 2, "jobgw.v1.Host", true},
        {"dynamic_group_ids", 3, "string", true},
        {"topo_nodes", 4, "jobgw.v1.TopoNode", true}}},
      {"ExecuteScriptRequest",
       {{"scope", 1, "jobgw.v1.Scope", false},
        {"script_content", 2, "string", false},
        {"script_language", 3, "jobgw.v1.ScriptLanguage", false},
        {"script_param", 4, "string", false},
        {"param_sensitive", 5, "bool", false},
        {"timeout_seconds", 6, "int32", false},
        {"account_alias", 7, "string", false},
        {"account_id", 8, "int64", false},
        {"targets", 9, "jobgw.v1.Targets", false},
        {"task_name", 10, "string", false},
        {"operator", 11, "string", false},
        {"request_id", 12, "string", false},
        {"script_id", 13, "string", false},
        {"script_version_id", 14, "int64", false}}},
      {"FileSource",
       {{"files", 1, "string", true},
        {"servers", 2, "jobgw.v1.Targets", false},
        {"account_alias", 3, "string", false},
        {"account_id", 4, "int64", false}}},
      {"TransferFileRequest",
       {{"scope", 1, "jobgw.v1.Scope", false},
        {"sources", 2, "jobgw.v1.FileSource", true},
        {"target_path", 3, "string", false},
        {"targets", 4, "jobgw.v1.Targets", false},
        {"account_alias", 5, "string", false},
        {"account_id", 6, "int64", false},
        {"timeout_seconds", 7, "int32", false},
        {"upload_limit_mb", 8, "int64", false},
        {"download_limit_mb", 9, "int64", false},
        {"transfer_mode", 10, "jobgw.v1.TransferMode", false},
        {"task_name", 11, "string", false},
        {"operator", 12, "string", false},
        {"request_id", 13, "string", false}}},
      {"JobRef",
       {{"job_instance_id", 1, "int64", false},
        {"step_instance_id", 2, "int64", false},
        {"job_instance_name", 3, "string", false}}},
      {"GetJobStatusRequest",
       {{"scope", 1, "jobgw.v1.Scope", false},
        {"job_instance_id", 2, "int64", false},
        {"operator", 3, "string", false}}},
      {"JobSnapshot",
       {{"job_instance_id", 1, "int64", false},
        {"scope", 2, "jobgw.v1.Scope", false},
        {"name", 3, "string", false},
        {"status", 4, "jobgw.v1.JobStatus", false},
        {"finished", 5, "bool", false},
        {"create_time_ms", 6, "int64", false},
        {"start_time_ms", 7, "int64", false},
        {"end_time_ms", 8, "int64", false},
        {"total_time_ms", 9, "int64", false},
        {"steps", 10, "jobgw.v1.StepSnapshot", true}}},
      {"StepSnapshot",
       {{"step_instance_id", 1, "int64", false},
        {"type", 2, "jobgw.v1.StepType", false},
        {"name", 3, "string", false},
        {"status", 4, "jobgw.v1.JobStatus", false},
        {"execute_count", 5, "int32", false},
        {"create_time_ms", 6, "int64", false},
        {"start_time_ms", 7, "int64", false},
        {"end_time_ms", 8, "int64", false},
        {"total_time_ms", 9, "int64", false},
        {"hosts", 10, "jobgw.v1.HostResult", true}}},
      {"HostResult",
       {{"host", 1, "jobgw.v1.Host", false},
        {"status", 2, "jobgw.v1.HostStatus", false},
        {"tag", 3, "string", false},
        {"exit_code", 4, "int32", false},
        {"error_code", 5, "int32", false},
        {"start_time_ms", 6, "int64", false},
        {"end_time_ms", 7, "int64", false},
        {"total_time_ms", 8, "int64", false}}},
      {"WatchStatusRequest",
       {{"scope", 1, "jobgw.v1.Scope", false},
        {"job_instance_id", 2, "int64", false},
        {"after_seq", 3, "uint64", false},
        {"detail", 4, "jobgw.v1.WatchDetail", false}}},
      {"StatusEvent",
       {{"seq", 1, "uint64", false},
        {"kind", 2, "jobgw.v1.EventKind", false},
        {"snapshot", 3, "jobgw.v1.JobSnapshot", false},
        {"observed_at_ms", 4, "int64", false},
        {"resumed", 5, "bool", false},
        {"job", 10, "jobgw.v1.JobChange", false},
        {"step", 11, "jobgw.v1.StepChange", false},
        {"host", 12, "jobgw.v1.HostChange", false},
        {"reachability", 13, "jobgw.v1.JobReachability", false}}},
      {"JobReachability",
       {{"unreachable_since_ms", 1, "int64", false},
        {"last_error", 2, "string", false},
        {"reachable_since_ms", 3, "int64", false}}},
      {"JobChange",
       {{"old_status", 1, "jobgw.v1.JobStatus", false},
        {"new_status", 2, "jobgw.v1.JobStatus", false}}},
      {"StepChange",
       {{"step_instance_id", 1, "int64", false},
        {"old_status", 2, "jobgw.v1.JobStatus", false},
        {"new_status", 3, "jobgw.v1.JobStatus", false}}},
      {"HostChange",
       {{"step_instance_id", 1, "int64", false},
        {"host", 2, "jobgw.v1.Host", false},
        {"old_status", 3, "jobgw.v1.HostStatus", false},
        {"new_status", 4, "jobgw.v1.HostStatus", false},
        {"exit_code", 5, "int32", false},
        {"error_code", 6, "int32", false},
        {"tag", 7, "string", false}}},
      {"GetIpLogsRequest",
       {{"scope", 1, "jobgw.v1.Scope", false},
        {"job_instance_id", 2, "int64", false},
        {"step_instance_id", 3, "int64", false},
        {"host_ids", 4, "int64", true},
        {"hosts", 5, "jobgw.v1.Host", true},
        {"operator", 6, "string", false},
        {"page_token", 7, "string", false},
        {"max_response_bytes", 8, "int64", false}}},
      {"GetIpLogsResponse",
       {{"log_type", 1, "jobgw.v1.LogType", false},
        {"script_logs", 2, "jobgw.v1.ScriptLog", true},
        {"file_logs", 3, "jobgw.v1.FileHostLog", true},
        {"next_page_token", 4, "string", false}}},
      {"ScriptLog",
       {{"host", 1, "jobgw.v1.Host", false},
        {"content", 2, "string", false},
        {"truncated", 3, "bool", false}}},
      {"FileHostLog",
       {{"host", 1, "jobgw.v1.Host", false},
        {"entries", 2, "jobgw.v1.FileLog", true},
        {"truncated", 3, "bool", false}}},
      {"FileLog",
       {{"mode", 1, "jobgw.v1.FileLogMode", false},
        {"src_host", 2, "jobgw.v1.Host", false},
        {"src_path", 3, "string", false},
        {"dest_host", 4, "jobgw.v1.Host", false},
        {"dest_path", 5, "string", false},
        {"status", 6, "jobgw.v1.FileLogStatus", false},
        {"content", 7, "string", false},
        {"size", 8, "string", false},
        {"speed", 9, "string", false},
        {"progress", 10, "string", false}}},
      {"TerminateJobRequest",
       {{"scope", 1, "jobgw.v1.Scope", false},
        {"job_instance_id", 2, "int64", false},
        {"operator", 3, "string", false}}},
      {"TerminateJobResponse", {{"job_instance_id", 1, "int64", false}}},
      {"ListJobsRequest",
       {{"scope", 1, "jobgw.v1.Scope", false},
        {"state", 2, "jobgw.v1.JobStateFilter", false},
        {"name_prefix", 3, "string", false},
        {"page_size", 4, "int32", false},
        {"page_token", 5, "string", false}}},
      {"HostCounts",
       {{"total", 1, "int32", false},
        {"waiting", 2, "int32", false},
        {"running", 3, "int32", false},
        {"success", 4, "int32", false},
        {"failed", 5, "int32", false}}},
      {"JobSummary",
       {{"scope", 1, "jobgw.v1.Scope", false},
        {"job_instance_id", 2, "int64", false},
        {"step_instance_id", 3, "int64", false},
        {"name", 4, "string", false},
        {"status", 5, "jobgw.v1.JobStatus", false},
        {"finished", 6, "bool", false},
        {"operator", 7, "string", false},
        {"caller", 8, "string", false},
        {"create_time_ms", 9, "int64", false},
        {"start_time_ms", 10, "int64", false},
        {"end_time_ms", 11, "int64", false},
        {"hosts", 12, "jobgw.v1.HostCounts", false},
        {"subscribers", 13, "int32", false},
        {"step_count", 14, "int32", false}}},
      {"ListJobsResponse",
       {{"jobs", 1, "jobgw.v1.JobSummary", true}, {"next_page_token", 2, "string", false}}},
      {"FollowLogsRequest",
       {{"scope", 1, "jobgw.v1.Scope", false},
        {"job_instance_id", 2, "int64", false},
        {"step_instance_id", 3, "int64", false},
        {"host_ids", 4, "int64", true},
        {"hosts", 5, "jobgw.v1.Host", true},
        {"operator", 6, "string", false},
        {"after_seq", 7, "uint64", false}}},
      {"LogEvent",
       {{"seq", 1, "uint64", false},
        {"kind", 2, "jobgw.v1.LogEventKind", false},
        {"host", 3, "jobgw.v1.Host", false},
        {"step_instance_id", 4, "int64", false},
        {"text", 5, "string", false},
        {"offset", 6, "int64", false},
        {"file_entries", 7, "jobgw.v1.FileLog", true},
        {"status", 8, "jobgw.v1.HostStatus", false},
        {"exit_code", 9, "int32", false},
        {"resumed", 10, "bool", false},
        {"observed_at_ms", 11, "int64", false},
        {"truncated", 12, "bool", false}}},
      {"ListJobPlansRequest",
       {{"scope", 1, "jobgw.v1.Scope", false},
        {"name", 2, "string", false},
        {"job_template_id", 3, "int64", false},
        {"creator", 4, "string", false},
        {"last_modify_user", 5, "string", false},
        {"create_time_start_ms", 6, "int64", false},
        {"create_time_end_ms", 7, "int64", false},
        {"last_modify_time_start_ms", 8, "int64", false},
        {"last_modify_time_end_ms", 9, "int64", false},
        {"offset", 10, "int32", false},
        {"page_size", 11, "int32", false},
        {"operator", 12, "string", false}}},
      {"JobPlanSummary",
       {{"job_plan_id", 1, "int64", false},
        {"job_template_id", 2, "int64", false},
        {"name", 3, "string", false},
        {"creator", 4, "string", false},
        {"create_time_ms", 5, "int64", false},
        {"last_modify_user", 6, "string", false},
        {"last_modify_time_ms", 7, "int64", false},
        {"need_update", 8, "bool", false},
        {"scope", 9, "jobgw.v1.Scope", false}}},
      {"ListJobPlansResponse",
       {{"plans", 1, "jobgw.v1.JobPlanSummary", true},
        {"total", 2, "int64", false},
        {"offset", 3, "int32", false}}},
      {"GetJobPlanRequest",
       {{"scope", 1, "jobgw.v1.Scope", false},
        {"job_plan_id", 2, "int64", false},
        {"operator", 3, "string", false}}},
      {"GlobalVar",
       {{"id", 1, "int64", false},
        {"name", 2, "string", false},
        {"description", 3, "string", false},
        {"type", 4, "jobgw.v1.GlobalVarType", false},
        {"required", 5, "bool", false},
        {"default_value", 6, "string", false},
        {"default_hosts", 7, "jobgw.v1.Targets", false},
        {"has_default", 8, "bool", false}}},
      {"PlanStep",
       {{"id", 1, "int64", false},
        {"name", 2, "string", false},
        {"type", 3, "jobgw.v1.StepType", false},
        {"script_language", 4, "jobgw.v1.ScriptLanguage", false},
        {"script_content", 5, "string", false},
        {"script_param", 6, "string", false},
        {"param_sensitive", 7, "bool", false},
        {"timeout_seconds", 8, "int32", false},
        {"account", 9, "string", false},
        {"file_target_path", 10, "string", false}}},
      {"JobPlan",
       {{"job_plan_id", 1, "int64", false},
        {"job_template_id", 2, "int64", false},
        {"name", 3, "string", false},
        {"creator", 4, "string", false},
        {"create_time_ms", 5, "int64", false},
        {"last_modify_user", 6, "string", false},
        {"last_modify_time_ms", 7, "int64", false},
        {"variables", 8, "jobgw.v1.GlobalVar", true},
        {"steps", 9, "jobgw.v1.PlanStep", true}}},
      {"PlanVariable",
       {{"id", 1, "int64", false},
        {"name", 2, "string", false},
        {"value", 3, "string", false},
        {"hosts", 4, "jobgw.v1.Targets", false}}},
      {"ExecuteJobPlanRequest",
       {{"scope", 1, "jobgw.v1.Scope", false},
        {"job_plan_id", 2, "int64", false},
        {"variables", 3, "jobgw.v1.PlanVariable", true},
        {"operator", 4, "string", false},
        {"request_id", 5, "string", false}}},
      {"OperateStepRequest",
       {{"scope", 1, "jobgw.v1.Scope", false},
        {"job_instance_id", 2, "int64", false},
        {"step_instance_id", 3, "int64", false},
        {"operation", 4, "jobgw.v1.StepOperation", false},
        {"operator", 5, "string", false}}},
      {"OperateStepResponse",
       {{"job_instance_id", 1, "int64", false}, {"step_instance_id", 2, "int64", false}}},
      {"GetJobOutputsRequest",
       {{"scope", 1, "jobgw.v1.Scope", false},
        {"job_instance_id", 2, "int64", false},
        {"log_hosts", 3, "jobgw.v1.LogVarHosts", false},
        {"per_step", 4, "bool", false},
        {"operator", 5, "string", false}}},
      {"OutputVar", {{"name", 1, "string", false}, {"value", 2, "string", false}}},
      {"StepOutputs",
       {{"step_instance_id", 1, "int64", false},
        {"variables", 2, "jobgw.v1.OutputVar", true},
        {"log_variables", 3, "jobgw.v1.OutputVar", true}}},
      {"HostOutcomes",
       {{"success_hosts", 1, "jobgw.v1.Host", true},
        {"non_zero_exit_hosts", 2, "jobgw.v1.Host", true},
        {"other_failed_hosts", 3, "jobgw.v1.Host", true}}},
      {"JobOutputs",
       {{"job_instance_id", 1, "int64", false},
        {"status", 2, "jobgw.v1.JobStatus", false},
        {"finished", 3, "bool", false},
        {"variables", 4, "jobgw.v1.OutputVar", true},
        {"log_variables", 5, "jobgw.v1.OutputVar", true},
        {"last_step_instance_id", 6, "int64", false},
        {"last_step_hosts", 7, "jobgw.v1.HostOutcomes", false},
        {"steps", 8, "jobgw.v1.StepOutputs", true}}},
  };
  return kContract;
}

TEST(Contract, EveryMessageHasExactlyTheAgreedFields) {
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  for (const Message& m : Contract()) {
    SCOPED_TRACE(m.name);
    const Descriptor* d = pool->FindMessageTypeByName(std::string("jobgw.v1.") + m.name);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->field_count(), static_cast<int>(m.fields.size()));
    for (const Field& f : m.fields) {
      SCOPED_TRACE(f.name);
      const FieldDescriptor* fd = d->FindFieldByName(f.name);
      ASSERT_NE(fd, nullptr);
      EXPECT_EQ(fd->number(), f.number);
      EXPECT_EQ(TypeOf(fd), f.type);
      EXPECT_EQ(fd->is_repeated(), f.repeated);
    }
  }
}

TEST(Contract, NoMessagesBeyondTheContract) {
  const auto* file = jobgw::v1::JobRef::descriptor()->file();
  EXPECT_EQ(file->message_type_count(), static_cast<int>(Contract().size()));
}

TEST(Contract, StatusEventChangeIsAOneof) {
  const Descriptor* d = jobgw::v1::StatusEvent::descriptor();
  ASSERT_EQ(d->oneof_decl_count(), 1);
  const auto* change = d->oneof_decl(0);
  EXPECT_EQ(change->name(), "change");
  ASSERT_EQ(change->field_count(), 4);
  EXPECT_EQ(change->field(0)->name(), "job");
  EXPECT_EQ(change->field(1)->name(), "step");
  EXPECT_EQ(change->field(2)->name(), "host");
  EXPECT_EQ(change->field(3)->name(), "reachability");

  jobgw::v1::StatusEvent ev;
  EXPECT_EQ(ev.change_case(), jobgw::v1::StatusEvent::CHANGE_NOT_SET);
  ev.mutable_step()->set_step_instance_id(75);
  EXPECT_EQ(ev.change_case(), jobgw::v1::StatusEvent::kStep);
  ev.mutable_host();
  EXPECT_EQ(ev.change_case(), jobgw::v1::StatusEvent::kHost);
  EXPECT_FALSE(ev.has_step());
}

TEST(Contract, OperatorFieldCompilesAsOperatorUnderscore) {
  // `operator` is a C++ keyword; protoc names the accessors operator_().
  jobgw::v1::ExecuteScriptRequest exec;
  exec.set_operator_("admin");
  EXPECT_EQ(exec.operator_(), "admin");
  jobgw::v1::TransferFileRequest transfer;
  transfer.set_operator_("admin");
  EXPECT_EQ(transfer.operator_(), "admin");
  jobgw::v1::TerminateJobRequest terminate;
  *terminate.mutable_operator_() = "root";
  EXPECT_EQ(terminate.operator_(), "root");
  // The wire/JSON name stays "operator".
  EXPECT_EQ(jobgw::v1::ExecuteScriptRequest::descriptor()->FindFieldByNumber(11)->name(),
            "operator");
}

}  // namespace
