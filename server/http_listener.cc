#include "server/http_listener.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <deque>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_map>

#include "core/base/log_throttle.h"
#include "server/http_tls.h"

namespace jobgw::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

class SessionBase;

class HttpListener::Impl : public std::enable_shared_from_this<HttpListener::Impl> {
 public:
  Impl(asio::io_context& io, AsyncHandler handler, HttpListenerOptions options)
      : io_(io),
        acceptor_(asio::make_strand(io)),
        handler_(std::move(handler)),
        options_(std::move(options)) {}

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  AsyncHandler handler_;
  HttpListenerOptions options_;

  std::mutex mu_;
  bool stopped_ = false;
  std::uint64_t next_id_ = 0;
  // Open sessions, so stop() can close kept-alive connections instead of waiting for timeouts.
  std::unordered_map<std::uint64_t, std::weak_ptr<SessionBase>> sessions_;

  void accept();
  void stop();
  void forget(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(id);
  }
};

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Beast refuses codes outside 100..999 by throwing, which on an io thread would end the process.
unsigned checked_status(int status, const std::string& path) {
  if (status >= 100 && status <= 999) return static_cast<unsigned>(status);
  spdlog::error("event=http_bad_status path=\"{}\" status={}", path, status);
  return 500;
}

// The LogThrottle kind of a request the listener refused by itself.
const char* refusal_kind(int status) {
  if (status == 413) return "body_too_large";
  if (status == 431) return "headers_too_large";
  return "malformed";
}

// Callbacks belong to handlers; one that throws must not unwind through the io_context.
template <typename Fn, typename... Args>
void call_back(const char* what, Fn& fn, Args... args) {
  if (!fn) return;
  try {
    fn(args...);
  } catch (const std::exception& e) {
    spdlog::error("event=http_callback_error callback={} error=\"{}\"", what, e.what());
  } catch (...) {
    spdlog::error("event=http_callback_error callback={} error=unknown", what);
  }
}

// The state of one request's answer, shared by its responder and its session. The atomics are
// read from any thread; everything else is touched on the session's strand only.
struct Answer {
  enum class Mode { kNone, kWhole, kStream };

  explicit Answer(std::string p) : path(std::move(p)) {}

  const std::string path;            // for logs
  std::atomic<bool> claimed{false};  // respond() or start_stream() was called
  std::atomic<bool> gone{false};     // no write can succeed any more

  Mode mode = Mode::kNone;
  bool finishing = false;  // finish() queued the last chunk
  bool ended = false;      // answered completely
  bool aborted = false;    // the connection closed first
  std::function<void()> on_close;
};

}  // namespace

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void run() = 0;
  // From any thread: closes the connection on the session's strand.
  virtual void close_soon() = 0;

  // From any thread, on behalf of `answer`'s responder; the work is posted to the strand.
  virtual void respond(std::shared_ptr<Answer> answer, HttpListenerResponse response) = 0;
  virtual void start_stream(std::shared_ptr<Answer> answer, int status, std::string content_type,
                            std::vector<std::pair<std::string, std::string>> headers) = 0;
  virtual void write(std::shared_ptr<Answer> answer, std::string data,
                     std::function<void(bool)> done) = 0;
  virtual void finish(std::shared_ptr<Answer> answer) = 0;
  virtual void on_close(std::shared_ptr<Answer> answer, std::function<void()> fn) = 0;
  virtual void responder_gone(std::shared_ptr<Answer> answer) = 0;
};

namespace {

class Responder final : public HttpResponder {
 public:
  Responder(std::shared_ptr<SessionBase> session, std::shared_ptr<Answer> answer)
      : session_(std::move(session)), answer_(std::move(answer)) {}
  ~Responder() override { session_->responder_gone(answer_); }

  void respond(HttpListenerResponse response) override {
    if (claim("respond")) session_->respond(answer_, std::move(response));
  }
  void start_stream(int status, std::string content_type,
                    std::vector<std::pair<std::string, std::string>> headers) override {
    if (claim("start_stream")) {
      session_->start_stream(answer_, status, std::move(content_type), std::move(headers));
    }
  }
  void write(std::string data, std::function<void(bool)> done) override {
    session_->write(answer_, std::move(data), std::move(done));
  }
  void finish() override { session_->finish(answer_); }
  void on_close(std::function<void()> fn) override { session_->on_close(answer_, std::move(fn)); }
  bool closed() const override { return answer_->gone.load(); }

 private:
  bool claim(const char* call) {
    if (!answer_->claimed.exchange(true)) return true;
    spdlog::error("event=http_answered_twice path=\"{}\" call={}", answer_->path, call);
    return false;
  }

  std::shared_ptr<SessionBase> session_;
  std::shared_ptr<Answer> answer_;
};

}  // namespace

// One connection. Stream is beast::tcp_stream (HTTP) or ssl_stream over one (HTTPS); the TLS
// context is held for the connection's life.
//
// Requests are served one at a time. While an answer is outstanding (an async handler that has
// not answered yet, or an open stream) a "monitor" read stays pending without a timeout: it is
// how a peer that goes away is noticed at once, and whatever it reads (a pipelined request) is
// kept in buffer_ for the next request. At the end of the answer the monitor is cancelled and the
// next request is read as usual.
template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <typename... StreamArgs>
  Session(std::shared_ptr<HttpListener::Impl> owner, std::uint64_t id,
          std::shared_ptr<ssl::context> tls, StreamArgs&&... stream_args)
      : tls_(std::move(tls)),
        stream_(std::forward<StreamArgs>(stream_args)...),
        executor_(stream_.get_executor()),
        owner_(std::move(owner)),
        id_(id) {
    beast::error_code ec;
    auto peer = lowest().socket().remote_endpoint(ec);
    if (!ec) remote_ = peer.address().to_string() + ":" + std::to_string(peer.port());
  }

  ~Session() override { owner_->forget(id_); }

  void run() override {
    asio::dispatch(executor_, [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->handshake();
      } else {
        self->read();
      }
    });
  }

  void close_soon() override {
    asio::post(executor_, [self = this->shared_from_this()] { self->close(); });
  }

  void respond(std::shared_ptr<Answer> answer, HttpListenerResponse response) override {
    asio::post(executor_, [self = this->shared_from_this(), answer = std::move(answer),
                           response = std::move(response)]() mutable {
      self->do_respond(answer, std::move(response));
    });
  }

  void start_stream(std::shared_ptr<Answer> answer, int status, std::string content_type,
                    std::vector<std::pair<std::string, std::string>> headers) override {
    asio::post(executor_,
               [self = this->shared_from_this(), answer = std::move(answer), status,
                content_type = std::move(content_type), headers = std::move(headers)]() mutable {
                 self->do_start_stream(answer, status, std::move(content_type), std::move(headers));
               });
  }

  void write(std::shared_ptr<Answer> answer, std::string data,
             std::function<void(bool)> done) override {
    asio::post(executor_, [self = this->shared_from_this(), answer = std::move(answer),
                           data = std::move(data), done = std::move(done)]() mutable {
      self->do_write(answer, std::move(data), std::move(done));
    });
  }

  void finish(std::shared_ptr<Answer> answer) override {
    asio::post(executor_, [self = this->shared_from_this(), answer = std::move(answer)] {
      self->do_finish(answer);
    });
  }

  void on_close(std::shared_ptr<Answer> answer, std::function<void()> fn) override {
    asio::post(executor_,
               [self = this->shared_from_this(), answer = std::move(answer),
                fn = std::move(fn)]() mutable { self->do_on_close(answer, std::move(fn)); });
  }

  void responder_gone(std::shared_ptr<Answer> answer) override {
    asio::post(executor_, [self = this->shared_from_this(), answer = std::move(answer)] {
      self->do_responder_gone(answer);
    });
  }

 private:
  // A piece of a streamed answer waiting to be written.
  struct Piece {
    enum class Kind { kHead, kChunk, kLast };
    Kind kind;
    std::string data;
    std::function<void(bool)> done;
  };

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  bool answer_open() const { return answer_ && !answer_->ended; }

  void handshake() {
    lowest().expires_after(owner_->options_.handshake_timeout);
    stream_.async_handshake(
        ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
          if (ec) {
            // Scanners, plaintext clients, untrusted peers: nothing to answer.
            spdlog::debug("event=http_tls_handshake_failed remote={} error=\"{}\"", self->remote_,
                          ec.message());
            return self->close();
          }
          self->read();
        });
  }

  void read() {
    if (closed_) return;
    parser_.emplace();
    parser_->body_limit(owner_->options_.body_limit);
    parser_->header_limit(kHeaderLimit);
    lowest().expires_after(owner_->options_.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof || ec == ssl::error::stream_truncated || closed_) {
      return close();
    }
    if (ec) {
      // The request did not parse; answer once, then close: the stream position is unknown.
      HttpListenerResponse out;
      if (ec == http::error::body_limit) {
        out = own_answer(413, "request body too large");
      } else if (ec == http::error::header_limit) {
        out = own_answer(431, "request headers too large");
      } else {
        out = own_answer(400, "malformed HTTP request");
      }
      // Anyone can send these at will: bounded at warn level when the owner asks for it.
      core::LogThrottle* throttle = owner_->options_.refusal_log;
      const auto level = throttle == nullptr ? spdlog::level::debug : spdlog::level::warn;
      if (throttle == nullptr || throttle->admit(refusal_kind(out.status))) {
        spdlog::log(level, "event=http_bad_request remote={} status={} error=\"{}\"", remote_,
                    out.status, ec.message());
      }
      keep_alive_ = false;
      version_ = 11;
      answer_.reset();
      return write_whole(std::move(out));
    }

    auto& req = parser_->get();
    HttpListenerRequest in;
    in.method = std::string(req.method_string());
    in.target = std::string(req.target());
    auto question = in.target.find('?');
    in.path = in.target.substr(0, question);
    if (question != std::string::npos) in.query = in.target.substr(question + 1);
    if (auto it = req.find(http::field::content_type); it != req.end()) {
      in.content_type = std::string(it->value());
    }
    for (const auto& field : req) {
      in.headers.emplace_back(lower(std::string(field.name_string())), std::string(field.value()));
    }
    in.body = std::move(req.body());
    in.remote = remote_;
    keep_alive_ = req.keep_alive();
    version_ = req.version();

    auto answer = std::make_shared<Answer>(in.path);
    answer_ = answer;
    auto responder = std::make_shared<Responder>(this->shared_from_this(), answer);
    try {
      owner_->handler_(in, responder);
    } catch (const std::exception& e) {
      spdlog::error("event=http_handler_error path=\"{}\" error=\"{}\"", in.path, e.what());
      answer_after_throw(*answer);
    } catch (...) {
      spdlog::error("event=http_handler_error path=\"{}\" error=unknown", in.path);
      answer_after_throw(*answer);
    }
    responder.reset();
    // A sync handler has answered by now; anything else is answered later, from elsewhere.
    if (!answer->claimed.load()) monitor();
  }

  // What the listener answers by itself, in the face's format when it has one.
  HttpListenerResponse own_answer(int status, const char* message) {
    if (const auto& shape = owner_->options_.own_answer) {
      try {
        HttpListenerResponse out = shape(status, message);
        out.status = status;
        return out;
      } catch (const std::exception& e) {
        spdlog::error("event=http_own_answer_error status={} error=\"{}\"", status, e.what());
      } catch (...) {
        spdlog::error("event=http_own_answer_error status={} error=unknown", status);
      }
    }
    return HttpListenerResponse{
        status, "text/plain; charset=utf-8", {}, std::string(message) + "\n"};
  }

  void answer_after_throw(Answer& answer) {
    if (!answer.claimed.exchange(true)) respond(answer_, own_answer(500, "internal error"));
  }

  void do_respond(const std::shared_ptr<Answer>& answer, HttpListenerResponse response) {
    if (answer != answer_ || closed_) return;
    answer->mode = Answer::Mode::kWhole;
    write_whole(std::move(response));
  }

  void write_whole(HttpListenerResponse out) {
    res_ = {};
    res_.version(version_ == 10 ? 10 : 11);
    res_.result(checked_status(out.status, answer_ ? answer_->path : std::string()));
    res_.set(http::field::server, "jobgw");
    res_.set(http::field::content_type, out.content_type);
    for (auto& [name, value] : out.headers) res_.set(name, value);
    res_.keep_alive(keep_alive_);
    res_.body() = std::move(out.body);
    res_.prepare_payload();
    lowest().expires_after(owner_->options_.write_timeout);
    final_write_ = true;
    http::async_write(stream_, res_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->final_write_ = false;
                        if (ec) return self->close();
                        self->end_answer();
                      });
  }

  void do_start_stream(const std::shared_ptr<Answer>& answer, int status, std::string content_type,
                       std::vector<std::pair<std::string, std::string>> headers) {
    if (answer != answer_ || closed_) return;
    answer->mode = Answer::Mode::kStream;
    head_ = {};
    head_.version(version_ == 10 ? 10 : 11);
    head_.result(checked_status(status, answer->path));
    head_.set(http::field::server, "jobgw");
    head_.set(http::field::content_type, content_type);
    for (auto& [name, value] : headers) head_.set(name, value);
    // An HTTP/1.0 client knows no chunks: the body is unframed and ends with the connection.
    chunked_ = version_ != 10;
    if (chunked_) {
      head_.chunked(true);
    } else {
      keep_alive_ = false;
    }
    head_.keep_alive(keep_alive_);
    head_serializer_.emplace(head_);
    // Events are small and should leave at once, not wait for the previous one's ACK.
    beast::error_code ignored;
    lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (!monitoring_) monitor();
    pieces_.push_back(Piece{Piece::Kind::kHead, {}, nullptr});
    pump();
  }

  void do_write(const std::shared_ptr<Answer>& answer, std::string data,
                std::function<void(bool)> done) {
    if (answer != answer_ || closed_ || answer->mode != Answer::Mode::kStream ||
        answer->finishing || answer->ended) {
      return call_back("write_done", done, false);
    }
    pieces_.push_back(Piece{Piece::Kind::kChunk, std::move(data), std::move(done)});
    pump();
  }

  void do_finish(const std::shared_ptr<Answer>& answer) {
    if (answer != answer_ || closed_ || answer->mode != Answer::Mode::kStream ||
        answer->finishing || answer->ended) {
      return;
    }
    answer->finishing = true;
    answer->gone = true;
    pieces_.push_back(Piece{Piece::Kind::kLast, {}, nullptr});
    pump();
  }

  void do_on_close(const std::shared_ptr<Answer>& answer, std::function<void()> fn) {
    if (answer->aborted) return call_back("on_close", fn);
    if (answer->ended) return;
    answer->on_close = std::move(fn);
  }

  void do_responder_gone(const std::shared_ptr<Answer>& answer) {
    if (answer != answer_ || closed_ || answer->ended) return;
    if (answer->mode == Answer::Mode::kNone) {
      spdlog::error("event=http_unanswered path=\"{}\" remote={}", answer->path, remote_);
      answer->claimed = true;
      do_respond(answer, own_answer(500, "internal error"));
    } else if (answer->mode == Answer::Mode::kStream && !answer->finishing) {
      // A cut-off chunked body tells the client the stream broke; a last chunk would not.
      spdlog::warn("event=http_stream_abandoned path=\"{}\" remote={}", answer->path, remote_);
      close();
    }
  }

  void pump() {
    while (!writing_ && !closed_ && !pieces_.empty()) {
      Piece& piece = pieces_.front();
      if (piece.kind == Piece::Kind::kChunk && piece.data.empty()) {
        // An empty chunk is the last chunk on the wire: nothing to send.
        auto done = std::move(piece.done);
        pieces_.pop_front();
        call_back("write_done", done, true);
        continue;
      }
      if (piece.kind == Piece::Kind::kLast && !chunked_) {
        pieces_.pop_front();
        return end_answer();
      }
      writing_ = true;
      final_write_ = piece.kind == Piece::Kind::kLast;
      lowest().expires_after(owner_->options_.write_timeout);
      auto written = [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
        self->on_written(ec);
      };
      switch (piece.kind) {
        case Piece::Kind::kHead:
          http::async_write_header(stream_, *head_serializer_, std::move(written));
          break;
        case Piece::Kind::kChunk:
          if (chunked_) {
            asio::async_write(stream_, http::make_chunk(asio::buffer(piece.data)),
                              std::move(written));
          } else {
            asio::async_write(stream_, asio::buffer(piece.data), std::move(written));
          }
          break;
        case Piece::Kind::kLast:
          asio::async_write(stream_, http::make_chunk_last(), std::move(written));
          break;
      }
    }
  }

  void on_written(beast::error_code ec) {
    writing_ = false;
    final_write_ = false;
    Piece piece = std::move(pieces_.front());
    pieces_.pop_front();
    if (ec) {
      spdlog::debug("event=http_stream_write_failed remote={} error=\"{}\"", remote_, ec.message());
      call_back("write_done", piece.done, false);
      return close();
    }
    call_back("write_done", piece.done, true);
    if (piece.kind == Piece::Kind::kLast) return end_answer();
    pump();
  }

  // Watches the socket while an answer is outstanding; no timeout, streams live for hours.
  void monitor() {
    monitoring_ = true;
    lowest().expires_never();
    auto self = this->shared_from_this();
    if (buffer_.size() < kHeaderLimit + owner_->options_.body_limit) {
      stream_.async_read_some(buffer_.prepare(4096), [self](beast::error_code ec, std::size_t n) {
        self->on_monitor(ec, n, true);
      });
    } else {
      // More pipelined bytes than one request may hold: no longer worth keeping, and the
      // connection closes after this answer.
      keep_alive_ = false;
      stream_.async_read_some(asio::buffer(discard_), [self](beast::error_code ec, std::size_t n) {
        self->on_monitor(ec, n, false);
      });
    }
  }

  void on_monitor(beast::error_code ec, std::size_t n, bool keep) {
    monitoring_ = false;
    if (closed_) return;
    if (!ec) {
      if (keep) buffer_.commit(n);
      if (answer_open()) return monitor();
      return next_request();
    }
    // Cancelled by end_answer: the answer is complete and the next request may come.
    if (ec == asio::error::operation_aborted && !answer_open()) return next_request();
    spdlog::debug("event=http_peer_gone remote={} error=\"{}\"", remote_, ec.message());
    // A peer may read the end of the answer and leave before that write's completion runs
    // here: the write's outcome says whether the answer ended or was cut off.
    if (final_write_) {
      peer_gone_ = true;
      return;
    }
    close();
  }

  void end_answer() {
    if (closed_) return;
    if (answer_) {
      answer_->ended = true;
      answer_->gone = true;
      answer_->on_close = nullptr;
    }
    if (!keep_alive_ || peer_gone_) return close();
    // The monitor's completion starts the next read; two reads may not be pending at once.
    if (monitoring_) return lowest().cancel();
    read();
  }

  void next_request() {
    if (!keep_alive_) return close();
    read();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    owner_->forget(id_);
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
    if (!answer_open()) return;
    auto answer = answer_;
    answer->aborted = true;
    answer->gone = true;
    // The piece being written fails through its own completion.
    std::vector<std::function<void(bool)>> failed;
    std::size_t keep = writing_ ? 1 : 0;
    for (std::size_t i = keep; i < pieces_.size(); ++i)
      failed.push_back(std::move(pieces_[i].done));
    pieces_.erase(pieces_.begin() + static_cast<std::ptrdiff_t>(std::min(keep, pieces_.size())),
                  pieces_.end());
    auto fn = std::move(answer->on_close);
    answer->on_close = nullptr;
    call_back("on_close", fn);
    for (auto& done : failed) call_back("write_done", done, false);
  }

  static constexpr std::size_t kHeaderLimit = 16 * 1024;

  std::shared_ptr<ssl::context> tls_;  // before stream_, which refers to it
  Stream stream_;
  asio::any_io_executor executor_;  // the connection's strand
  std::shared_ptr<HttpListener::Impl> owner_;
  std::uint64_t id_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  bool keep_alive_ = true;
  bool closed_ = false;
  unsigned version_ = 11;

  // The answer to the request being served; kept after the connection closed so late calls
  // from its responder find it aborted.
  std::shared_ptr<Answer> answer_;
  bool monitoring_ = false;
  std::array<char, 4096> discard_;

  // The streamed answer being written.
  http::response<http::empty_body> head_;
  std::optional<http::response_serializer<http::empty_body>> head_serializer_;
  bool chunked_ = true;
  std::deque<Piece> pieces_;
  bool writing_ = false;
  bool final_write_ = false;  // the write in flight ends the answer
  bool peer_gone_ = false;    // seen while final_write_: close once it completed
};

void HttpListener::Impl::accept() {
  acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](beast::error_code ec,
                                                                             tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors and similar: the listener keeps going.
      spdlog::warn("event=http_accept_error error=\"{}\"", ec.message());
      return self->accept();
    }
    ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
    // Outside the lock: it may re-read changed certificate files.
    std::shared_ptr<ssl::context> context;
    if (self->options_.tls) context = self->options_.tls->current();
    std::shared_ptr<SessionBase> session;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      if (self->stopped_) return;
      if (self->sessions_.size() < self->options_.max_connections) {
        std::uint64_t id = self->next_id_++;
        if (context) {
          session = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
              self, id, context, std::move(socket), *context);
        } else {
          session =
              std::make_shared<Session<beast::tcp_stream>>(self, id, nullptr, std::move(socket));
        }
        self->sessions_[id] = session;
      }
    }
    if (session) {
      session->run();
    } else {
      beast::error_code ignored;
      socket.close(ignored);
      core::LogThrottle* throttle = self->options_.refusal_log;
      if (throttle == nullptr || throttle->admit("max_connections")) {
        spdlog::warn("event=http_connection_refused reason=max_connections limit={}",
                     self->options_.max_connections);
      }
    }
    self->accept();
  });
}

void HttpListener::Impl::stop() {
  std::vector<std::shared_ptr<SessionBase>> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [id, weak] : sessions_) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ignored;
    self->acceptor_.close(ignored);
  });
  for (auto& s : open) s->close_soon();
}

std::string HttpListenerRequest::header(std::string_view name) const {
  std::string wanted = lower(name);
  for (const auto& [key, value] : headers) {
    if (key == wanted) return value;
  }
  return {};
}

core::Result<std::unique_ptr<HttpListener>> HttpListener::create(asio::io_context& io,
                                                                 const std::string& host,
                                                                 std::uint16_t port,
                                                                 Handler handler,
                                                                 HttpListenerOptions options) {
  return create(
      io, host, port,
      AsyncHandler([handler = std::move(handler)](const HttpListenerRequest& request,
                                                  std::shared_ptr<HttpResponder> responder) {
        responder->respond(handler(request));
      }),
      std::move(options));
}

core::Result<std::unique_ptr<HttpListener>> HttpListener::create(asio::io_context& io,
                                                                 const std::string& host,
                                                                 std::uint16_t port,
                                                                 AsyncHandler handler,
                                                                 HttpListenerOptions options) {
  auto fail = [&](const std::string& why) {
    return core::Error::invalid_argument("cannot listen on " + host + ":" + std::to_string(port) +
                                         ": " + why);
  };
  beast::error_code ec;
  auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return fail("not an IP address");
  tcp::endpoint endpoint(address, port);
  auto impl = std::make_shared<Impl>(io, std::move(handler), std::move(options));
  auto& acceptor = impl->acceptor_;
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail(ec.message());
  ::fcntl(acceptor.native_handle(), F_SETFD, FD_CLOEXEC);
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (address.is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
  acceptor.bind(endpoint, ec);
  if (ec) return fail(ec.message());
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec.message());
  std::uint16_t bound = acceptor.local_endpoint(ec).port();
  if (ec) return fail(ec.message());
  impl->accept();
  return std::unique_ptr<HttpListener>(new HttpListener(std::move(impl), host, bound));
}

HttpListener::~HttpListener() { stop(); }

void HttpListener::stop() { impl_->stop(); }

}  // namespace jobgw::server
