#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "core/job/ip_logs.h"
#include "core/job/job_snapshot.h"
#include "core/job/plan_requests.h"
#include "jobgw/v1/job_gateway.pb.h"

// Job plans, domain -> proto (as proto_mapping.h for the other RPCs), and GetJobOutputs' answer
// built from what it read.
namespace jobgw::server {

void to_proto(const core::PlanPage& page, v1::ListJobPlansResponse* out);
// Password defaults are never in `plan` (the decoder drops them); has_default says one exists.
void to_proto(const core::PlanDetail& plan, v1::JobPlan* out);

// What GetJobOutputs read: the job's status, its global variables per step, and the script logs
// of the hosts it asked for, by step.
struct OutputsParts {
  core::JobSnapshot job;
  core::JobGlobalVars vars;
  std::map<std::int64_t, std::vector<core::ScriptLog>> logs;
};

// The last step that started (status other than pending), or null.
const core::StepSnapshot* last_started_step(const core::JobSnapshot& job);

// Final variables from the last step entry; log variables over steps in order, then hosts in
// order, a later marker winning; the last started step's hosts by outcome; per step on request.
void to_proto(const OutputsParts& parts, bool per_step, v1::JobOutputs* out);

}  // namespace jobgw::server
