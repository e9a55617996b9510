#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/result.h"

namespace boost::asio {
class io_context;
}

namespace jobgw::core {
class LogThrottle;
}  // namespace jobgw::core

namespace jobgw::server {

class HttpTlsContext;

struct HttpListenerRequest {
  std::string method;  // as sent, e.g. "POST"
  std::string target;  // path and query as sent
  std::string path;    // target without the query
  std::string content_type;
  std::string body;
  std::string remote;  // peer address, for logs
  // Every header in the order sent, names lower-cased (values as sent).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string query;  // target after '?', raw (empty if none)

  // The first value of a header (name in any case), "" if absent.
  std::string header(std::string_view name) const;
};

struct HttpListenerResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// One request's answer, handed to an async handler, which may keep it and answer later from any
// thread (a JOB call completing on an io thread, a stream event from a hub thread). Every method
// is thread-safe; the work runs on the connection's strand, in the order of the calls. Exactly
// one of respond() or start_stream() answers; a second is ignored (and logged).
//
// Dropping the last reference without answering answers 500 (and logs it), so a forgotten
// request never holds its connection; dropping a started stream without finish() closes the
// connection, so the client sees a cut-off body rather than a normal end.
class HttpResponder {
 public:
  virtual ~HttpResponder() = default;

  // The whole answer at once, the same as a sync handler's return value.
  virtual void respond(HttpListenerResponse response) = 0;

  // Starts a streamed answer: status line and headers, no body yet. HTTP/1.1 clients get
  // `Transfer-Encoding: chunked`; an HTTP/1.0 client gets the body unframed and the connection
  // closes at the end.
  virtual void start_stream(int status, std::string content_type,
                            std::vector<std::pair<std::string, std::string>> headers) = 0;

  // Sends one piece of the body as one chunk (an empty piece sends nothing). `done(ok)` runs on
  // the strand when it was written (true), or when the connection is gone or the write took
  // longer than options.write_timeout (false). Pieces queue in order, but a producer should wait
  // for done before the next one: that is the flow control against a slow reader. Writes before
  // start_stream, after finish or after the connection is gone complete at once with false.
  virtual void write(std::string data, std::function<void(bool ok)> done) = 0;

  // Ends the streamed body after the queued pieces (the last chunk); the connection then serves
  // the next request, or closes if the request asked for that.
  virtual void finish() = 0;

  // Runs once, on the strand, when the connection closes before the answer ended: the peer went
  // away (noticed at once, even while the stream is idle), a write failed or timed out, or the
  // listener stopped. Set right after start_stream, or before respond when the answer takes
  // long; set after the connection is already gone, it runs at once. Never runs when the answer
  // ended normally. It may capture the responder: it is dropped once it ran or the answer ended.
  virtual void on_close(std::function<void()> fn) = 0;

  // No more writes can succeed: the peer is gone, or the answer ended (or is ending: finish()).
  virtual bool closed() const = 0;
};

// Runs on an io thread and must not block; an exception from it before it answered becomes a
// 500.
using AsyncHandler =
    std::function<void(const HttpListenerRequest&, std::shared_ptr<HttpResponder>)>;

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
  // Shapes what the listener answers by itself: 400 (malformed), 413 (body over body_limit), 431
  // (huge headers) and 500 (a handler that threw or dropped its responder), so a JSON face can
  // answer those in JSON too. Gets the status and a short message; the status it returns is
  // ignored. Unset, or when it throws: the message as text/plain.
  std::function<HttpListenerResponse(int status, std::string_view message)> own_answer;
  // When set, requests refused before a handler saw them (400, 413, 431) and connections refused
  // at max_connections are logged at warn level, as many as it admits; unset: requests at debug
  // level, connections one warn line each.
  core::LogThrottle* refusal_log = nullptr;
};

// A small asynchronous HTTP/1.1 (or HTTPS) server on the shared io_context (Beast's
// advanced_server / advanced_server_flex pattern): one session per connection on its own strand,
// keep-alive, a timeout on every read and write, a body limit. Malformed requests get 400 (413 too
// large, 431 huge headers) and the connection closes; nothing a client sends can crash it. The
// handler runs on an io thread and must not block; an exception from it becomes a 500.
//
// A handler answers at once (Handler) or later and possibly streamed (AsyncHandler). While an
// answer is outstanding the connection keeps a read pending without a timeout, so a peer that
// goes away is noticed at once and a Server-Sent Events stream may stay open for hours; bytes a
// client sends meanwhile (a pipelined request) are kept and served after the answer.
class HttpListener {
 public:
  using Handler = std::function<HttpListenerResponse(const HttpListenerRequest&)>;

  // Binds host:port (IPv4 or IPv6 literal, or "localhost"; port 0 = ephemeral) and starts
  // accepting.
  static core::Result<std::unique_ptr<HttpListener>> create(boost::asio::io_context& io,
                                                            const std::string& host,
                                                            std::uint16_t port, Handler handler,
                                                            HttpListenerOptions options = {});
  static core::Result<std::unique_ptr<HttpListener>> create(boost::asio::io_context& io,
                                                            const std::string& host,
                                                            std::uint16_t port,
                                                            AsyncHandler handler,
                                                            HttpListenerOptions options = {});
  ~HttpListener();  // stop()
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // The bound port (the real one when 0 was asked for).
  std::uint16_t port() const { return port_; }
  const std::string& host() const { return host_; }

  // Stops accepting and closes every open connection, open streams included (their on_close
  // runs). Idempotent, does not block; the closes complete on the io_context.
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
