#include "bench_http.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include "bench_stats.h"

namespace jobgw::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

HttpConn::HttpConn(int port) : port_(port), stream_(ioc_) {}

bool HttpConn::connect(std::string& error) {
  beast::error_code ec;
  stream_.socket().close(ec);
  stream_.socket().connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)), ec);
  if (ec) {
    error = "connect: " + ec.message();
    connected_ = false;
    return false;
  }
  stream_.socket().set_option(tcp::no_delay(true), ec);
  buffer_.clear();
  connected_ = true;
  return true;
}

HttpResult HttpConn::get(const std::string& target) { return send(http::verb::get, target, {}); }

HttpResult HttpConn::post(const std::string& target, const std::string& body) {
  return send(http::verb::post, target, body);
}

HttpResult HttpConn::send(http::verb verb, const std::string& target, const std::string& body) {
  bool reused = connected_;
  HttpResult r = send_once(verb, target, body);
  if (r.status == 0 && reused) r = send_once(verb, target, body);
  return r;
}

HttpResult HttpConn::send_once(http::verb verb, const std::string& target,
                               const std::string& body) {
  HttpResult out;
  if (!connected_ && !connect(out.error)) return out;
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
  req.set(http::field::user_agent, "jobgw-bench");
  req.keep_alive(true);
  if (verb == http::verb::post) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  beast::error_code ec;
  http::write(stream_, req, ec);
  http::response<http::string_body> res;
  if (!ec) http::read(stream_, buffer_, res, ec);
  if (ec) {
    out.error = ec.message();
    connected_ = false;
    return out;
  }
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  if (!res.keep_alive()) connected_ = false;
  return out;
}

nlohmann::json job_data(const HttpResult& r, std::string* error) {
  auto fail = [&](const std::string& why) {
    if (error) *error = why;
    return nlohmann::json();
  };
  if (r.status == 0) return fail("transport: " + r.error);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object()) return fail("HTTP " + std::to_string(r.status) + ": body is not JSON");
  if (!j.value("result", false)) {
    return fail("HTTP " + std::to_string(r.status) + " code " +
                j.value("code", nlohmann::json(0)).dump() + ": " +
                j.value("message", std::string()));
  }
  return j["data"];
}

std::string job_path(const std::string& name) { return "/api/v3/" + name + "/"; }

nlohmann::json jobsim_stats(int port) {
  HttpConn conn(port);
  HttpResult r = conn.get("/jobsim/stats");
  if (!r.ok()) return nullptr;
  return nlohmann::json::parse(r.body, nullptr, false);
}

}  // namespace jobgw::bench

namespace jobgw::bench {

std::string script_submit_body(const std::vector<std::int64_t>& host_ids, const std::string& script,
                               const std::string& task_name) {
  nlohmann::json body = {{"bk_scope_type", "biz"},
                         {"bk_scope_id", "1"},
                         {"account_alias", "root"},
                         {"script_language", 1},
                         {"script_content", base64(script)},
                         {"task_name", task_name},
                         {"target_server", {{"host_id_list", host_ids}}}};
  return body.dump();
}

std::string status_target(std::int64_t job_instance_id) {
  return job_path("get_job_instance_status") +
         "?bk_scope_type=biz&bk_scope_id=1&return_ip_result=true&job_instance_id=" +
         std::to_string(job_instance_id);
}

std::string log_body(std::int64_t job_instance_id, std::int64_t step_instance_id,
                     const std::vector<std::int64_t>& host_ids) {
  nlohmann::json body = {{"bk_scope_type", "biz"},
                         {"bk_scope_id", "1"},
                         {"job_instance_id", job_instance_id},
                         {"step_instance_id", step_instance_id},
                         {"host_id_list", host_ids}};
  return body.dump();
}

std::vector<std::int64_t> host_range(int count) {
  std::vector<std::int64_t> out;
  for (int i = 0; i < count; ++i) out.push_back(101 + i);
  return out;
}

}  // namespace jobgw::bench
