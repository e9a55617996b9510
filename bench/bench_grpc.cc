#include "bench_grpc.h"

#include <algorithm>
#include <stdexcept>

#include "bench_stats.h"

namespace jobgw::bench {

std::vector<std::unique_ptr<v1::JobGateway::Stub>> make_stubs(const std::string& address,
                                                              int count) {
  std::vector<std::unique_ptr<v1::JobGateway::Stub>> stubs;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("jobgw.bench.channel", i);  // a distinct argument: a connection of its own
    args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
    stubs.push_back(v1::JobGateway::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
  }
  return stubs;
}

v1::JobRef submit_through_gateway(v1::JobGateway::Stub& stub,
                                  const std::vector<std::int64_t>& host_ids,
                                  const std::string& script, const std::string& task_name) {
  v1::ExecuteScriptRequest submit;
  submit.mutable_scope()->set_type("biz");
  submit.mutable_scope()->set_id("1");
  submit.set_script_content(script);
  submit.set_script_language(v1::SCRIPT_LANGUAGE_SHELL);
  submit.set_task_name(task_name);
  for (auto id : host_ids) submit.mutable_targets()->add_host_ids(id);
  v1::JobRef ref;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  // A channel whose first connect attempt failed fails every call at once until its reconnect
  // backoff ends; waiting for the connection (within the deadline) measures jobgw, not that.
  ctx.set_wait_for_ready(true);
  grpc::Status s = stub.ExecuteScript(&ctx, submit, &ref);
  if (!s.ok()) throw std::runtime_error("ExecuteScript through jobgw failed: " + s.error_message());
  return ref;
}

namespace {

// JOB's host statuses 5 (waiting) and 7 (running) are the only ones that are not final.
bool host_final(int status) { return status != 5 && status != 7 && status != 0; }

}  // namespace

void note_snapshot(const v1::JobSnapshot& snapshot, std::int64_t now_ms, SeenTimes& seen) {
  if (seen.running_ms == 0 && snapshot.status() != v1::JOB_STATUS_UNSPECIFIED &&
      snapshot.status() != v1::JOB_STATUS_PENDING) {
    seen.running_ms = now_ms;  // running, or already past it
  }
  for (const auto& step : snapshot.steps()) {
    for (const auto& host : step.hosts()) {
      if (host_final(host.status())) seen.host_final_ms.emplace(host.host().host_id(), now_ms);
    }
  }
  if (snapshot.finished() && seen.finished_ms == 0) seen.finished_ms = now_ms;
}

void start_watch(grpc::ClientReadReactor<v1::StatusEvent>* reactor, v1::JobGateway::Stub* stub,
                 grpc::ClientContext& context, v1::WatchStatusRequest& request,
                 v1::StatusEvent& event, std::int64_t job_id,
                 std::chrono::system_clock::time_point deadline) {
  request.mutable_scope()->set_type("biz");
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(job_id);
  context.set_deadline(deadline);
  context.set_wait_for_ready(true);
  stub->async()->WatchStatus(&context, &request, reactor);
  reactor->StartRead(&event);
  reactor->StartCall();
}

WatchStream::WatchStream(v1::JobGateway::Stub* stub, std::int64_t job_id,
                         std::chrono::system_clock::time_point deadline,
                         std::function<void()> on_done)
    : on_done_(std::move(on_done)), job_id_(job_id) {
  start_watch(this, stub, context_, request_, event_, job_id, deadline);
}

void WatchStream::OnReadDone(bool ok) {
  if (!ok) return;  // OnDone follows
  const std::int64_t now = unix_ms();
  if (first_event_ms_ == 0) first_event_ms_ = now;
  ++events_;
  const auto bytes = static_cast<std::int64_t>(event_.ByteSizeLong());
  event_bytes_ += bytes;
  max_event_bytes_ = std::max(max_event_bytes_, bytes);
  switch (event_.kind()) {
    case v1::EVENT_KIND_HOST_CHANGED:
      if (host_final(event_.host().new_status())) {
        seen_.host_final_ms.emplace(event_.host().host().host_id(), now);
      }
      break;
    case v1::EVENT_KIND_JOB_CHANGED:
      if (seen_.running_ms == 0) seen_.running_ms = now;
      break;
    case v1::EVENT_KIND_FINISHED:
      finished_observed_ms_ = event_.observed_at_ms();
      end_time_ms_ = event_.snapshot().end_time_ms();
      job_ms_ = event_.snapshot().total_time_ms();
      step_id_ =
          event_.snapshot().steps_size() > 0 ? event_.snapshot().steps(0).step_instance_id() : 0;
      note_snapshot(event_.snapshot(), now, seen_);
      seen_.finished_ms = now;
      final_snapshot_ = event_.snapshot();
      break;
    default:
      if (event_.has_snapshot()) note_snapshot(event_.snapshot(), now, seen_);
      break;
  }
  StartRead(&event_);
}

void WatchStream::OnDone(const grpc::Status& status) {
  status_ = status;
  on_done_();
}

WatchStream& StreamSet::open(v1::JobGateway::Stub* stub, std::int64_t job_id,
                             std::chrono::system_clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++open_;
  }
  streams_.push_back(std::make_unique<WatchStream>(stub, job_id, deadline, [this] {
    std::lock_guard<std::mutex> lock(mu_);
    if (--open_ == 0) cv_.notify_all();
  }));
  return *streams_.back();
}

int StreamSet::started() const {
  int n = 0;
  for (const auto& s : streams_) n += s->first_event_ms() != 0 ? 1 : 0;
  return n;
}

void StreamSet::wait_all() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return open_ == 0; });
}

}  // namespace jobgw::bench
