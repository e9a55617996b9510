#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace jobgw::testing {

// A small HTTP/1.1 server on 127.0.0.1 (ephemeral port) running on its own thread. It records
// every request and answers through a handler; used to receive callbacks in tests.
class TestHttpServer {
 public:
  struct Request {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
  };
  struct Reply {
    int status = 200;
    std::string body = "ok";
    std::string content_type = "text/plain";
  };
  // `handler` sees the request and the number of requests received before it.
  using Handler = std::function<Reply(const Request&, size_t index)>;

  explicit TestHttpServer(Handler handler = nullptr);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& target = "/") const;
  std::vector<Request> requests() const;
  size_t request_count() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace jobgw::testing
