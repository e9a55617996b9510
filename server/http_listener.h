#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/base/result.h"

namespace boost::asio {
class io_context;
}

namespace jobgw::server {

class HttpTlsContext;

struct HttpListenerRequest {
  std::string method;  // as sent, e.g. "POST"
  std::string target;  // path and query as sent
  std::string path;    // target without the query
  std::string content_type;
  std::string body;
  std::string remote;  // peer address, for logs
};

struct HttpListenerResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpListenerOptions {
  // JOB callbacks and scrapes are small; anything larger is refused with 413.
  std::size_t body_limit = 64 * 1024;
  // Reading one whole request (headers and body), and waiting for the next on a kept-alive
  // connection: slow or silent clients lose their connection instead of holding it.
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  // Connections beyond this are closed right after accept.
  std::size_t max_connections = 1024;
  // HTTPS when set: every connection starts with a TLS handshake, which must finish within
  // handshake_timeout; a failed or slow handshake just closes the connection.
  std::shared_ptr<HttpTlsContext> tls;
  std::chrono::milliseconds handshake_timeout{10000};
};

// A small asynchronous HTTP/1.1 (or HTTPS) server on the shared io_context (Beast's
// advanced_server / advanced_server_flex pattern): one session per connection on its own strand,
// keep-alive, a timeout on every read and write, a body limit. Malformed requests get 400 (413 too
// large, 431 huge headers) and the connection closes; nothing a client sends can crash it. The
// handler runs on an io thread and must not block; an exception from it becomes a 500.
class HttpListener {
 public:
  using Handler = std::function<HttpListenerResponse(const HttpListenerRequest&)>;

  // Binds host:port (IPv4 or IPv6 literal, or "localhost"; port 0 = ephemeral) and starts
  // accepting.
  static core::Result<std::unique_ptr<HttpListener>> create(boost::asio::io_context& io,
                                                            const std::string& host,
                                                            std::uint16_t port, Handler handler,
                                                            HttpListenerOptions options = {});
  ~HttpListener();  // stop()
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // The bound port (the real one when 0 was asked for).
  std::uint16_t port() const { return port_; }
  const std::string& host() const { return host_; }

  // Stops accepting and closes every open connection. Idempotent, does not block; the closes
  // complete on the io_context.
  void stop();

  // Opaque; public only so the connection sessions in the .cc can name it.
  class Impl;

 private:
  HttpListener(std::shared_ptr<Impl> impl, std::string host, std::uint16_t port)
      : impl_(std::move(impl)), host_(std::move(host)), port_(port) {}

  std::shared_ptr<Impl> impl_;
  std::string host_;
  std::uint16_t port_;
};

}  // namespace jobgw::server
