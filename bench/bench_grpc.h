#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "jobgw/v1/job_gateway.grpc.pb.h"

namespace jobgw::bench {

// `count` stubs, each on a gRPC connection of its own to jobgw.
std::vector<std::unique_ptr<v1::JobGateway::Stub>> make_stubs(const std::string& address,
                                                              int count);

// ExecuteScript through jobgw on hosts (scope biz 1); throws with the status on failure.
v1::JobRef submit_through_gateway(v1::JobGateway::Stub& stub,
                                  const std::vector<std::int64_t>& host_ids,
                                  const std::string& script, const std::string& task_name);

// What one caller saw of one job, and when (Unix ms, this process's clock): the first time the
// job was running, each host's first final status, FINISHED.
struct SeenTimes {
  std::int64_t running_ms = 0;
  std::map<std::int64_t, std::int64_t> host_final_ms;  // host id -> first seen final
  std::int64_t finished_ms = 0;
};

// Notes a job state in `seen` at `now_ms`: running, final hosts, finished (JOB's statuses).
void note_snapshot(const v1::JobSnapshot& snapshot, std::int64_t now_ms, SeenTimes& seen);

// One WatchStatus stream read to its end with the callback API (no thread per stream),
// recording what it saw and when.
// Starts `reactor`'s WatchStatus of job_id in scope biz:1 (waiting for the channel to be ready,
// until `deadline`), its first read already asked for. Called from the reactor's constructor.
void start_watch(grpc::ClientReadReactor<v1::StatusEvent>* reactor, v1::JobGateway::Stub* stub,
                 grpc::ClientContext& context, v1::WatchStatusRequest& request,
                 v1::StatusEvent& event, std::int64_t job_id,
                 std::chrono::system_clock::time_point deadline);

class WatchStream : public grpc::ClientReadReactor<v1::StatusEvent> {
 public:
  WatchStream(v1::JobGateway::Stub* stub, std::int64_t job_id,
              std::chrono::system_clock::time_point deadline, std::function<void()> on_done);

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  // Valid once on_done ran.
  bool finished() const { return seen_.finished_ms != 0 && status_.ok(); }
  const SeenTimes& seen() const { return seen_; }
  const grpc::Status& status() const { return status_; }
  std::int64_t job_id() const { return job_id_; }
  std::int64_t end_time_ms() const { return end_time_ms_; }  // JOB's, from FINISHED
  std::int64_t job_ms() const { return job_ms_; }
  std::int64_t step_id() const { return step_id_; }
  // Receive time minus jobgw's observed_at_ms of the FINISHED event: the fan-out time.
  std::int64_t finished_fanout_ms() const { return seen_.finished_ms - finished_observed_ms_; }
  std::int64_t first_event_ms() const { return first_event_ms_.load(); }
  int events() const { return events_; }
  std::int64_t event_bytes() const { return event_bytes_; }
  std::int64_t max_event_bytes() const { return max_event_bytes_; }
  // The FINISHED event's snapshot: JOB's own times of the job and its hosts.
  const v1::JobSnapshot& final_snapshot() const { return final_snapshot_; }

 private:
  grpc::ClientContext context_;
  v1::WatchStatusRequest request_;
  v1::StatusEvent event_;
  std::function<void()> on_done_;
  grpc::Status status_;
  std::int64_t job_id_;
  SeenTimes seen_;
  std::atomic<std::int64_t> first_event_ms_{0};  // read by StreamSet::started()
  std::int64_t finished_observed_ms_ = 0;
  std::int64_t end_time_ms_ = 0;
  std::int64_t job_ms_ = 0;
  std::int64_t step_id_ = 0;
  v1::JobSnapshot final_snapshot_;
  int events_ = 0;
  std::int64_t event_bytes_ = 0;
  std::int64_t max_event_bytes_ = 0;
};

// Opens streams and waits for all of them to end.
class StreamSet {
 public:
  StreamSet() = default;
  StreamSet(const StreamSet&) = delete;
  StreamSet& operator=(const StreamSet&) = delete;

  WatchStream& open(v1::JobGateway::Stub* stub, std::int64_t job_id,
                    std::chrono::system_clock::time_point deadline);
  // Streams that have received at least one event.
  int started() const;
  void wait_all();
  const std::vector<std::unique_ptr<WatchStream>>& streams() const { return streams_; }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int open_ = 0;
  std::vector<std::unique_ptr<WatchStream>> streams_;
};

}  // namespace jobgw::bench
