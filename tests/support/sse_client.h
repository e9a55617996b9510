#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace jobgw::testing {

// One Server-Sent Event as dispatched per the HTML spec: `id` is the last event ID seen so far on
// the stream (it persists across events until a new `id:` line), `event` the type as sent ("" when
// none), `data` the data lines joined with '\n'.
struct SseEvent {
  std::string id;
  std::string event;
  std::string data;
};

// A small blocking HTTP/1.1 client for a Server-Sent Events endpoint on 127.0.0.1 (plain TCP),
// for tests. It reads the body as the server frames it (chunked, Content-Length or until the
// connection closes) and parses events from it, so chunk boundaries never matter. Never throws;
// failures show in status() == 0 / error() / ended().
class SseClient {
 public:
  // Connects, sends `GET target` (Accept: text/event-stream unless `headers` says otherwise) and
  // reads the status line and headers, waiting at most `timeout`.
  SseClient(int port, const std::string& target,
            const std::map<std::string, std::string>& headers = {},
            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  int status() const { return status_; }
  std::string header(const std::string& lower_name) const;  // "" when absent
  const std::string& error() const { return error_; }

  // For an answer that is not a stream: the rest of the body, read to its end (or until the
  // constructor's timeout).
  std::string body();

  // The next event; comment lines are skipped (and counted). nullopt when the stream ended
  // (ended()) or nothing complete arrived within `timeout` (timed_out()).
  std::optional<SseEvent> next(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  bool ended() const { return ended_; }
  bool timed_out() const { return timed_out_; }
  std::size_t comments() const { return comments_; }

  // Drops the connection, as a client that goes away mid-stream.
  void close();

 private:
  using Clock = std::chrono::steady_clock;

  // Connects, sends the request and reads the head of the answer.
  void open(int port, const std::string& target, const std::map<std::string, std::string>& headers);
  // Reads more bytes into raw_; false at EOF, on error or at the deadline (timed_out_ set).
  bool fill(Clock::time_point deadline);
  // Moves what raw_ holds of the body into body_; sets body_done_ at its end.
  void decode();
  // Makes body_ grow or the body end; false when neither happened by the deadline.
  bool more_body(Clock::time_point deadline);
  // Takes one line off body_ (without its terminator); nullopt when no whole line is there yet.
  std::optional<std::string> take_line();
  void fail(const std::string& why);

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
  std::string error_;

  std::string raw_;               // bytes read, not yet decoded
  std::string body_;              // body bytes, not yet consumed by the event parser
  bool connection_done_ = false;  // EOF from the server
  bool body_done_ = false;        // the body's end was reached

  enum class Framing { kChunked, kLength, kUntilClose };
  Framing framing_ = Framing::kUntilClose;
  std::size_t remaining_ = 0;  // of the Content-Length or of the current chunk
  enum class ChunkState { kSize, kData, kDataEnd, kTrailer };
  ChunkState chunk_state_ = ChunkState::kSize;

  bool bom_checked_ = false;
  std::string last_id_;
  std::string event_type_;
  std::string data_;
  bool has_data_ = false;
  bool ended_ = false;
  bool timed_out_ = false;
  std::size_t comments_ = 0;
};

}  // namespace jobgw::testing
