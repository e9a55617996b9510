#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <thread>
#include <utility>

#include "core/job/job_client.h"
#include "tests/support/fake_http_server.h"

// What the JobClient tests share: an io thread, a client config for a FakeHttpServer, and a
// waiter for one completion.
namespace jobgw::core::testing {

// An io_context on its own thread, as jobgw runs it.
class IoThread {
 public:
  IoThread() : guard_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Quick backoff and retry-after, so retries take milliseconds.
inline JobClientConfig config_for(const jobgw::testing::FakeHttpServer& server,
                                  ApiMode mode = ApiMode::kApigw, std::string app_code = "bk_log") {
  JobClientConfig c;
  c.api.mode = mode;
  c.api.app_code = std::move(app_code);
  c.api.app_secret = "s3cret";
  c.http.base_url = server.base_url();
  c.http.request_timeout = std::chrono::milliseconds(2000);
  c.http.backoff = BackoffPolicy{std::chrono::milliseconds(1), std::chrono::milliseconds(5), 2, 0};
  c.http.max_retry_after = std::chrono::milliseconds(50);
  c.http.ca_file = server.ca_file();
  return c;
}

template <typename T>
struct Waiter {
  std::promise<Result<T>> promise;
  std::function<void(Result<T>)> callback() {
    return [this](Result<T> r) { promise.set_value(std::move(r)); };
  }
  Result<T> get() { return promise.get_future().get(); }
};

}  // namespace jobgw::core::testing
