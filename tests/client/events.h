#pragma once

#include <cstdint>

#include "jobgw/v1/job_gateway.pb.h"

namespace jobgw::client::testing {

// A two-host job (101, 102 in step 20001), running; t0 = observed time of the snapshot.
inline v1::JobSnapshot running_job(std::int64_t t0) {
  v1::JobSnapshot s;
  s.set_job_instance_id(10001);
  s.set_name("demo");
  s.set_status(v1::JOB_STATUS_RUNNING);
  s.set_start_time_ms(t0);
  auto* step = s.add_steps();
  step->set_step_instance_id(20001);
  step->set_status(v1::JOB_STATUS_RUNNING);
  for (int i = 1; i <= 2; ++i) {
    auto* h = step->add_hosts();
    h->mutable_host()->set_host_id(100 + i);
    h->mutable_host()->set_ip("192.0.2." + std::to_string(i));
    h->set_status(v1::HOST_STATUS_WAITING);
  }
  return s;
}

inline v1::StatusEvent snapshot_event(std::uint64_t seq, const v1::JobSnapshot& s,
                                      std::int64_t at) {
  v1::StatusEvent e;
  e.set_seq(seq);
  e.set_kind(v1::EVENT_KIND_SNAPSHOT);
  *e.mutable_snapshot() = s;
  e.set_observed_at_ms(at);
  return e;
}

inline v1::StatusEvent host_event(std::uint64_t seq, std::int64_t host_id, int old_status,
                                  int new_status, int exit_code, std::int64_t at) {
  v1::StatusEvent e;
  e.set_seq(seq);
  e.set_kind(v1::EVENT_KIND_HOST_CHANGED);
  e.set_observed_at_ms(at);
  auto* h = e.mutable_host();
  h->set_step_instance_id(20001);
  h->mutable_host()->set_host_id(host_id);
  h->mutable_host()->set_ip("192.0.2." + std::to_string(host_id - 100));
  h->set_old_status(static_cast<v1::HostStatus>(old_status));
  h->set_new_status(static_cast<v1::HostStatus>(new_status));
  h->set_exit_code(exit_code);
  return e;
}

inline v1::StatusEvent job_event(std::uint64_t seq, int old_status, int new_status,
                                 std::int64_t at) {
  v1::StatusEvent e;
  e.set_seq(seq);
  e.set_kind(v1::EVENT_KIND_JOB_CHANGED);
  e.set_observed_at_ms(at);
  e.mutable_job()->set_old_status(static_cast<v1::JobStatus>(old_status));
  e.mutable_job()->set_new_status(static_cast<v1::JobStatus>(new_status));
  return e;
}

inline v1::StatusEvent finished_event(std::uint64_t seq, v1::JobSnapshot s, std::int64_t at) {
  v1::StatusEvent e;
  e.set_seq(seq);
  e.set_kind(v1::EVENT_KIND_FINISHED);
  e.set_observed_at_ms(at);
  s.set_finished(true);
  *e.mutable_snapshot() = s;
  return e;
}

}  // namespace jobgw::client::testing
