#pragma once

// A scriptable HTTP/1.1 (optionally TLS) server for tests of anything that talks HTTP to JOB. It
// listens on 127.0.0.1 on an ephemeral port, runs its own thread, records every request and
// answers from a handler.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jobgw::testing {

struct RecordedRequest {
  std::uint64_t connection_id = 0;  // 1-based, in accept order
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // First header with this name, compared case-insensitively.
  std::optional<std::string> header(std::string_view name) const;
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Wait this long before answering; other connections are served meanwhile.
  std::chrono::milliseconds delay{0};
  // Do not answer: reset the connection (RST) after reading the request.
  bool reset = false;
  // Answer with "Connection: close", then close.
  bool close = false;
  // Answer as keep-alive, then close anyway: what a server does when its keep-alive expires.
  bool close_after_answer = false;

  static FakeResponse json(std::string body, int status = 200);
  static FakeResponse with_status(int status, std::string body = {});
};

struct FakeServerOptions {
  bool tls = false;
  // Subject alternative names of the generated certificate (DNS names or IP addresses).
  std::vector<std::string> cert_hosts = {"localhost", "127.0.0.1"};
};

class FakeHttpServer {
 public:
  // Runs on the server thread, one request at a time. May be replaced while running.
  using Handler = std::function<FakeResponse(const RecordedRequest&)>;

  // An empty handler answers 200 with {"result":true}.
  explicit FakeHttpServer(Handler handler = {}, FakeServerOptions options = {});
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  void set_handler(Handler handler);

  std::uint16_t port() const;
  // "http://127.0.0.1:<port>" or "https://...".
  std::string base_url() const;
  // PEM file holding the self-signed certificate, for a client's ca_file; empty without TLS.
  const std::string& ca_file() const;

  std::size_t connections_accepted() const;
  std::size_t connections_closed() const;  // by either side, as seen by the server
  std::size_t max_concurrent_connections() const;
  std::size_t requests_received() const;
  std::size_t count(std::string_view method) const;
  std::vector<RecordedRequest> requests() const;

  // Stops accepting and drops every connection; the destructor does it too.
  void stop();

  // Polls `condition` every few milliseconds until it holds or `timeout` passes; returns whether
  // it held. For waiting on the server's thread without asserting on durations.
  static bool wait_until(const std::function<bool()>& condition,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace jobgw::testing
