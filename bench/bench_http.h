#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace jobgw::bench {

struct HttpResult {
  int status = 0;  // 0: transport error (see error)
  std::string body;
  std::string error;
  bool ok() const { return status == 200; }
};

// One synchronous HTTP/1.1 keep-alive connection to 127.0.0.1:port, the way a service calls JOB
// directly. Not thread-safe: one per caller thread. A request on a connection the server closed
// reconnects and is sent once more.
class HttpConn {
 public:
  explicit HttpConn(int port);
  HttpConn(const HttpConn&) = delete;
  HttpConn& operator=(const HttpConn&) = delete;

  HttpResult get(const std::string& target);
  HttpResult post(const std::string& target, const std::string& body);

 private:
  HttpResult send(boost::beast::http::verb verb, const std::string& target,
                  const std::string& body);
  HttpResult send_once(boost::beast::http::verb verb, const std::string& target,
                       const std::string& body);
  bool connect(std::string& error);

  int port_;
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
};

// JOB's envelope: the `data` object when result is true, else null (error filled in).
nlohmann::json job_data(const HttpResult& r, std::string* error = nullptr);

// The JOB API path of `name` (apigw mode, as jobgw calls it).
std::string job_path(const std::string& name);

// GET /jobsim/stats, parsed (null on failure).
nlohmann::json jobsim_stats(int port);

}  // namespace jobgw::bench

namespace jobgw::bench {

// Request bodies and targets of the JOB calls the benchmark clients make, as docs/JOB_API.md has
// them (scope biz 1, hosts by id).
std::string script_submit_body(const std::vector<std::int64_t>& host_ids, const std::string& script,
                               const std::string& task_name);
std::string status_target(std::int64_t job_instance_id);  // return_ip_result=true
std::string log_body(std::int64_t job_instance_id, std::int64_t step_instance_id,
                     const std::vector<std::int64_t>& host_ids);
// Hosts 101 .. 100 + count (jobsim --hosts).
std::vector<std::int64_t> host_range(int count);

}  // namespace jobgw::bench
