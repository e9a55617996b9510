#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "server/call.h"
#include "server/grpc_call.h"
#include "server/status_mapping.h"

// The gRPC face of a server stream (WatchStatus, FollowLogs): one reactor per stream over the
// source the service opened (a hub Subscription or a LogFollower).
namespace jobgw::server {

// Pulls one item at a time from its source (next -> StartWrite -> OnWriteDone -> next), so a slow
// caller only ever holds its own bounded backlog.
//
// Lifetime: the source's `ready` callback may run on another thread at any time, even after
// OnCancel or OnDone, so it never holds the reactor: it holds `Shared`, and touches the reactor
// only under Shared::mu while `finishing` is false. The call finishes only under that mutex (its
// respond sets `finishing`), and gRPC calls OnDone (which deletes the reactor) only after Finish,
// so a `ready` that sees finishing == false under the lock is looking at a live reactor.
//
// Source: next(std::function<void(Item)>) and cancel(). Item: is_end(), error, event.
// `convert(event, &proto)` fills the message to write.
template <typename Proto, typename Source, typename Item, typename Event>
class StreamReactor final : public grpc::ServerWriteReactor<Proto> {
 public:
  using Open = std::function<std::shared_ptr<Source>(Call& call)>;
  using Convert = std::function<void(const Event&, Proto*)>;

  // `make_call` builds the stream's Call around the respond this reactor gives it; `open` runs
  // the pipeline and opens the source (null: the call was refused and is finished).
  StreamReactor(grpc::CallbackServerContext* context,
                const std::function<std::unique_ptr<Call>(Call::Respond)>& make_call,
                const Open& open, Convert convert)
      : context_(context), shared_(std::make_shared<Shared>()), convert_(std::move(convert)) {
    shared_->self = this;
    call_ = make_call([this](const CallStatus& status) { respond_locked(status); });
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      source_ = open(*call_);
      if (source_ == nullptr) return;
    }
    pull();
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      write_in_flight_ = false;
      if (pending_finish_) {
        this->Finish(*pending_finish_);
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
    // Cancel first, outside our lock: the source drops the pending `ready`, and one already
    // running will find `finishing` set (or win the lock first and write; that write then fails).
    if (source_ != nullptr) source_->cancel();
    std::lock_guard<std::mutex> lock(shared_->mu);
    call_->finish(CallStatus(StatusCode::kCancelled, "the caller cancelled the stream"),
                  "cancelled by the caller");
  }

  void OnDone() override {
    // Frees the source's state for this stream now (a no-op when already cancelled or ended).
    if (source_ != nullptr) source_->cancel();
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      shared_->self = nullptr;
    }
    delete this;
  }

 private:
  struct Shared {
    std::mutex mu;
    StreamReactor* self = nullptr;
    bool finishing = false;
  };

  // Called without shared_->mu held: the source may run `ready` inline.
  void pull() {
    std::shared_ptr<Shared> shared = shared_;
    source_->next([shared](Item item) {
      std::lock_guard<std::mutex> lock(shared->mu);
      if (shared->self == nullptr || shared->finishing) return;
      shared->self->on_item(std::move(item));
    });
  }

  // Called with shared_->mu held, while the reactor is live and not finishing.
  void on_item(Item item) {
    if (item.is_end()) {
      if (item.error) {
        call_->finish(map_stream_end(*item.error), item.error->describe());
      } else {
        call_->finish_ok();
      }
      return;
    }
    out_.Clear();
    convert_(*item.event, &out_);
    write_in_flight_ = true;
    this->StartWrite(&out_);
  }

  // The call's respond, with shared_->mu held (every finish of this call runs under it): now,
  // or after the write in flight completes (a Finish never overlaps a write).
  void respond_locked(const CallStatus& status) {
    shared_->finishing = true;
    add_trailers(status, context_);
    if (write_in_flight_) {
      pending_finish_ = to_grpc(status);
    } else {
      this->Finish(to_grpc(status));
    }
  }

  grpc::CallbackServerContext* context_;
  std::shared_ptr<Shared> shared_;
  Convert convert_;
  std::unique_ptr<Call> call_;
  std::shared_ptr<Source> source_;
  // Guarded by shared_->mu.
  Proto out_;
  bool write_in_flight_ = false;
  std::optional<grpc::Status> pending_finish_;
};

}  // namespace jobgw::server
