#include "tests/support/test_http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace jobgw::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct TestHttpServer::Impl {
  asio::io_context ioc;
  asio::ip::tcp::acceptor acceptor{ioc};
  Handler handler;
  mutable std::mutex mu;
  std::vector<Request> requests;

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, asio::ip::tcp::socket sock) {
      if (ec) return;
      serve(std::make_shared<beast::tcp_stream>(std::move(sock)));
      accept();
    });
  }

  void serve(std::shared_ptr<beast::tcp_stream> stream) {
    auto buffer = std::make_shared<beast::flat_buffer>();
    auto req = std::make_shared<http::request<http::string_body>>();
    stream->expires_after(std::chrono::seconds(10));
    http::async_read(
        *stream, *buffer, *req, [this, stream, buffer, req](beast::error_code ec, std::size_t) {
          if (ec) return;
          Request r;
          r.method = std::string(req->method_string());
          r.target = std::string(req->target());
          r.body = req->body();
          for (auto& f : *req) {
            std::string key;
            for (char c : f.name_string()) {
              key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            r.headers[key] = std::string(f.value());
          }
          size_t index;
          {
            std::lock_guard<std::mutex> lock(mu);
            index = requests.size();
            requests.push_back(r);
          }
          Reply reply = handler ? handler(r, index) : Reply{};
          auto res = std::make_shared<http::response<http::string_body>>();
          res->version(11);
          res->result(static_cast<unsigned>(reply.status));
          res->set(http::field::content_type, reply.content_type);
          res->keep_alive(req->keep_alive());
          res->body() = reply.body;
          res->prepare_payload();
          http::async_write(*stream, *res, [this, stream, res](beast::error_code ec, std::size_t) {
            if (ec) return;
            if (res->keep_alive()) {
              serve(stream);
            } else {
              beast::error_code ignored;
              stream->socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
            }
          });
        });
  }
};

TestHttpServer::TestHttpServer(Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  thread_ = std::thread([this] { impl_->ioc.run(); });
}

TestHttpServer::~TestHttpServer() {
  impl_->ioc.stop();
  if (thread_.joinable()) thread_.join();
}

std::string TestHttpServer::url(const std::string& target) const {
  return "http://127.0.0.1:" + std::to_string(port_) + target;
}

std::vector<TestHttpServer::Request> TestHttpServer::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->requests;
}

size_t TestHttpServer::request_count() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->requests.size();
}

}  // namespace jobgw::testing
