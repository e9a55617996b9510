#pragma once

#include <cstdint>
#include <string>

#include "client/job_state.h"
#include "jobgw/v1/job_gateway.pb.h"

// How a watch shows a job of several steps (a job plan's): a line per step, the hosts of the
// step running now, and what to type when a step waits for a user.
namespace jobgw::client {

// Whether a job is shown step by step: it has several steps or a confirmation step. A fast_*
// job's single step keeps the host table it always had.
bool shows_steps(const v1::JobSnapshot& snapshot);

// The step someone watching cares about now: the first one running or waiting for a user, else
// the last one that started, else the first; -1 for a job without steps.
int current_step_index(const v1::JobSnapshot& snapshot);

// Counts of one step's hosts.
HostCounts step_counts(const v1::StepSnapshot& step);

// "step 1002 (confirm)", or "step 1002" for a step whose name is not known yet.
std::string step_label(const v1::StepSnapshot& step);

// Whether a step waits for a user (status WAITING_USER).
bool waits_for_user(const v1::StepSnapshot& step);

// "step N (NAME) waits for confirmation: jobctl confirm JOB N  /  jobctl operate JOB N
// terminate-confirmation"; `flags` (connection_flags: " --scope biz:2", ...) follow each command
// word, so the commands work as printed.
std::string confirmation_prompt(std::int64_t job_id, const v1::StepSnapshot& step,
                                const std::string& flags = "");

// The step's run time: JOB's total, else from its start to its end or `now_ms`; 0: not started.
std::int64_t step_elapsed(const v1::StepSnapshot& step, std::int64_t now_ms);

}  // namespace jobgw::client
