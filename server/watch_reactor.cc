#include <memory>
#include <mutex>
#include <optional>

#include "server/grpc_call.h"
#include "server/job_gateway_service.h"
#include "server/proto_mapping.h"
#include "server/service_calls.h"

// WatchStatus: one reactor per stream, over one hub Subscription.
namespace jobgw::server {

// One WatchStatus stream: pulls one item at a time from its Subscription (next -> StartWrite ->
// OnWriteDone -> next), so a slow caller only ever fills its own bounded hub queue.
//
// Lifetime: the hub's `ready` callback may run on a hub thread at any time, even after OnCancel
// or OnDone, so it never holds the reactor: it holds `Shared`, and touches the reactor only under
// Shared::mu while `finishing` is false. The call finishes only under that mutex (its respond
// sets `finishing`), and gRPC calls OnDone (which deletes the reactor) only after Finish, so a
// `ready` that sees finishing == false under the lock is looking at a live reactor.
class JobGatewayService::WatchReactor final : public grpc::ServerWriteReactor<v1::StatusEvent> {
 public:
  WatchReactor(JobGatewayService* service, grpc::CallbackServerContext* context,
               const v1::WatchStatusRequest* request)
      : service_(service), context_(context), shared_(std::make_shared<Shared>()) {
    shared_->self = this;
    CallSpec spec = call_spec("WatchStatus", request->scope(), request->job_instance_id());
    spec.stream = true;
    call_ = std::make_unique<Call>(service_->services(), std::move(spec),
                                   [this](const CallStatus& status) { respond_locked(status); });
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      auto target = call_->begin(presented_by(*context), [request] { return to_watch(*request); },
                                 core::Operation::kRead, {});
      if (!target) return;
      subscription_ =
          service_->hub_.subscribe(target->scope, target->job_instance_id, target->after_seq);
      if (subscription_ == nullptr) {
        call_->finish(CallStatus(StatusCode::kUnavailable,
                                 "jobgw is shutting down; reconnect with after_seq"),
                      "no subscription");
        return;
      }
    }
    pull();
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      write_in_flight_ = false;
      if (pending_finish_) {
        Finish(*pending_finish_);
        pending_finish_.reset();
        return;
      }
      if (shared_->finishing) return;
      if (!ok) {
        // The stream broke under the write: the caller is gone. OnCancel usually comes too;
        // whichever is first finishes.
        call_->finish(CallStatus(StatusCode::kCancelled, "the stream broke while writing"),
                      "write failed");
        return;
      }
    }
    pull();
  }

  void OnCancel() override {
    // Cancel first, outside our lock: the hub drops the pending `ready`, and one already running
    // will find `finishing` set (or win the lock first and write; that write then fails).
    if (subscription_ != nullptr) subscription_->cancel();
    std::lock_guard<std::mutex> lock(shared_->mu);
    call_->finish(CallStatus(StatusCode::kCancelled, "the caller cancelled the stream"),
                  "cancelled by the caller");
  }

  void OnDone() override {
    // Frees the hub's queue for this subscriber now (a no-op when already cancelled or ended).
    if (subscription_ != nullptr) subscription_->cancel();
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      shared_->self = nullptr;
    }
    delete this;
  }

 private:
  struct Shared {
    std::mutex mu;
    WatchReactor* self = nullptr;
    bool finishing = false;
  };

  // Called without shared_->mu held: the hub may run `ready` inline.
  void pull() {
    std::shared_ptr<Shared> shared = shared_;
    subscription_->next([shared](core::WatchItem item) {
      std::lock_guard<std::mutex> lock(shared->mu);
      if (shared->self == nullptr || shared->finishing) return;
      shared->self->on_item(std::move(item));
    });
  }

  // Called with shared_->mu held, while the reactor is live and not finishing.
  void on_item(core::WatchItem item) {
    if (item.is_end()) {
      if (item.error) {
        call_->finish(map_stream_end(*item.error), item.error->describe());
      } else {
        call_->finish_ok();
      }
      return;
    }
    to_proto(*item.event, &out_);
    write_in_flight_ = true;
    StartWrite(&out_);
  }

  // The call's respond, with shared_->mu held (every finish of this call runs under it): now,
  // or after the write in flight completes (a Finish never overlaps a write).
  void respond_locked(const CallStatus& status) {
    shared_->finishing = true;
    add_trailers(status, context_);
    if (write_in_flight_) {
      pending_finish_ = to_grpc(status);
    } else {
      Finish(to_grpc(status));
    }
  }

  JobGatewayService* service_;
  grpc::CallbackServerContext* context_;
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<Call> call_;
  std::shared_ptr<core::Subscription> subscription_;
  // Guarded by shared_->mu.
  v1::StatusEvent out_;
  bool write_in_flight_ = false;
  std::optional<grpc::Status> pending_finish_;
};

grpc::ServerWriteReactor<v1::StatusEvent>* JobGatewayService::WatchStatus(
    grpc::CallbackServerContext* context, const v1::WatchStatusRequest* request) {
  return new WatchReactor(this, context, request);
}

}  // namespace jobgw::server
