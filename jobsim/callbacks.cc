#include "jobsim/callbacks.h"

#include <spdlog/spdlog.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace jobsim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct CallbackSender::Attempt {
  explicit Attempt(asio::io_context& ioc) : resolver(ioc), stream(ioc), timer(ioc) {}
  std::string url, host, port, target, body;
  int64_t job_id = 0;
  int number = 0;
  asio::ip::tcp::resolver resolver;
  beast::tcp_stream stream;
  asio::steady_timer timer;
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  http::response<http::string_body> res;
};

namespace {

// A callback URL may carry a secret in its query (jobgw's per-job token): logs show it without.
std::string loggable(const std::string& url) { return url.substr(0, url.find('?')); }

}  // namespace

std::string CallbackSender::body_for(const Job& job) {
  nlohmann::json j;
  j["job_instance_id"] = job.id;
  j["status"] = job.status;
  if (job.is_plan()) {
    // JOB's code names a plan's list step_instances. Callers hold job.mu; steps lock after it.
    nlohmann::json steps = nlohmann::json::array();
    for (auto& s : job.steps) {
      std::lock_guard<std::mutex> lock(s->mu);
      steps.push_back({{"step_instance_id", s->step_id}, {"status", s->step_status}});
    }
    j["step_instances"] = std::move(steps);
  } else {
    j["step_instance_list"] =
        nlohmann::json::array({{{"step_instance_id", job.step_id}, {"status", job.step_status}}});
  }
  return j.dump();
}

void CallbackSender::send(const std::string& url, const std::string& body, int64_t job_id) {
  auto a = std::make_shared<Attempt>(ioc_);
  a->url = url;
  a->body = body;
  a->job_id = job_id;
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0) {
    stats_.callback("failed");
    spdlog::warn(
        "event=callback_failed job={} url={} reason=\"only http:// callback URLs are supported\"",
        job_id, loggable(url));
    return;
  }
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  a->target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    a->host = authority.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    size_t colon = close == std::string::npos ? std::string::npos : authority.find(':', close);
    a->port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  } else {
    size_t colon = authority.rfind(':');
    a->host = authority.substr(0, colon);
    a->port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  }
  a->req.method(http::verb::post);
  a->req.target(a->target);
  a->req.version(11);
  a->req.set(http::field::host, authority);
  a->req.set(http::field::content_type, "application/json");
  a->req.set(http::field::user_agent, "jobsim");
  a->req.set(http::field::connection, "close");
  a->req.body() = body;
  a->req.prepare_payload();
  attempt(a);
}

void CallbackSender::attempt(const std::shared_ptr<Attempt>& a) {
  ++a->number;
  // As JOB: the first try is JSON, the ones after it form-encoded with the same JSON text.
  a->req.set(http::field::content_type,
             a->number == 1 ? "application/json" : "application/x-www-form-urlencoded");
  stats_.callback("attempts");
  beast::error_code ignored;
  a->stream.socket().close(ignored);
  a->buffer.clear();
  a->res = {};
  a->stream.expires_after(std::chrono::milliseconds(options_.timeout_ms));
  a->resolver.async_resolve(a->host, a->port, [this, a](beast::error_code ec, auto results) {
    if (ec) return done(a, false, "resolve: " + ec.message());
    a->stream.async_connect(results, [this, a](beast::error_code ec, auto) {
      if (ec) return done(a, false, "connect: " + ec.message());
      http::async_write(a->stream, a->req, [this, a](beast::error_code ec, std::size_t) {
        if (ec) return done(a, false, "write: " + ec.message());
        http::async_read(a->stream, a->buffer, a->res,
                         [this, a](beast::error_code ec, std::size_t) {
                           if (ec) return done(a, false, "read: " + ec.message());
                           int status = static_cast<int>(a->res.result_int());
                           done(a, status == 200, "HTTP " + std::to_string(status));
                         });
      });
    });
  });
}

void CallbackSender::done(const std::shared_ptr<Attempt>& a, bool ok, const std::string& why) {
  beast::error_code ignored;
  a->stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  a->stream.socket().close(ignored);
  if (ok) {
    stats_.callback("delivered");
    spdlog::info("event=callback_delivered job={} url={} attempt={}", a->job_id, loggable(a->url),
                 a->number);
    return;
  }
  if (a->number > options_.retries) {
    stats_.callback("failed");
    spdlog::warn("event=callback_failed job={} url={} attempts={} last=\"{}\"", a->job_id,
                 loggable(a->url), a->number, why);
    return;
  }
  stats_.callback("retries");
  spdlog::info("event=callback_retry job={} url={} attempt={} reason=\"{}\"", a->job_id,
               loggable(a->url), a->number, why);
  a->timer.expires_after(std::chrono::milliseconds(options_.retry_delay_ms * a->number));
  a->timer.async_wait([this, a](beast::error_code ec) {
    if (!ec) attempt(a);
  });
}

}  // namespace jobsim
