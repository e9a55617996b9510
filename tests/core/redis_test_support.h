#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/redis/redis_client.h"

namespace jobgw::core {

// An io_context on its own thread for RedisClient tests, and a blocking way to run a command.
class RedisIo {
 public:
  RedisIo() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~RedisIo() {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  boost::asio::io_context& io() { return io_; }

  static RedisClientConfig config_for(const std::string& url) {
    RedisClientConfig c;
    c.endpoint = parse_redis_url(url).value();
    c.connect_timeout = std::chrono::milliseconds(1000);
    c.command_timeout = std::chrono::milliseconds(500);
    c.reconnect = {std::chrono::milliseconds(20), std::chrono::milliseconds(200), 2.0, 0.0};
    return c;
  }

  static Result<RedisReply> run(RedisClient& client, std::vector<std::string> args) {
    auto promise = std::make_shared<std::promise<Result<RedisReply>>>();
    auto future = promise->get_future();
    client.command(std::move(args),
                   [promise](Result<RedisReply> r) { promise->set_value(std::move(r)); });
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return Error::internal("test: no callback within 10 s");
    }
    return future.get();
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace jobgw::core
