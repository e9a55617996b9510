#include "tests/support/sse_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace jobgw::testing {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  auto end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

// Hex digits up to an extension (';') or whitespace; nullopt when there are none or too many.
std::optional<std::size_t> parse_chunk_size(const std::string& line) {
  std::size_t value = 0;
  std::size_t digits = 0;
  for (char c : line) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else if (c == ';' || c == ' ' || c == '\t') {
      break;
    } else {
      return std::nullopt;
    }
    if (++digits > 12) return std::nullopt;
    value = value * 16 + static_cast<std::size_t>(v);
  }
  if (digits == 0) return std::nullopt;
  return value;
}

std::optional<std::size_t> parse_decimal(const std::string& s) {
  if (s.empty() || s.size() > 15) return std::nullopt;
  std::size_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  return value;
}

}  // namespace

SseClient::SseClient(int port, const std::string& target,
                     const std::map<std::string, std::string>& headers,
                     std::chrono::milliseconds timeout)
    : timeout_(timeout) {
  open(port, target, headers);
}

void SseClient::open(int port, const std::string& target,
                     const std::map<std::string, std::string>& headers) {
  auto deadline = Clock::now() + timeout_;
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return fail(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return fail(std::string("connect: ") + std::strerror(errno));
  }

  std::string request = "GET " + target + " HTTP/1.1\r\n";
  bool has_host = false;
  bool has_accept = false;
  for (const auto& [name, value] : headers) {
    std::string key = lower(name);
    has_host |= key == "host";
    has_accept |= key == "accept";
    request += name + ": " + value + "\r\n";
  }
  if (!has_host) request += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  if (!has_accept) request += "Accept: text/event-stream\r\n";
  request += "\r\n";
  for (std::size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(std::string("send: ") + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }

  std::size_t end;
  while ((end = raw_.find("\r\n\r\n")) == std::string::npos) {
    if (raw_.size() > 64 * 1024) return fail("response headers too large");
    if (!fill(deadline)) {
      return fail(timed_out_ ? "timed out reading the response headers"
                             : "connection closed before the response headers");
    }
  }
  std::string head = raw_.substr(0, end);
  raw_.erase(0, end + 4);

  auto line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  auto space = status_line.find(' ');
  if (status_line.rfind("HTTP/1.", 0) != 0 || space == std::string::npos) {
    return fail("bad status line: " + status_line);
  }
  auto code = parse_decimal(status_line.substr(space + 1, 3));
  if (!code || *code < 100 || *code > 999) return fail("bad status line: " + status_line);

  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto next = head.find("\r\n", pos);
    if (next == std::string::npos) next = head.size();
    std::string line = head.substr(pos, next - pos);
    pos = next + 2;
    auto colon = line.find(':');
    if (colon == std::string::npos) return fail("bad header line: " + line);
    std::string name = lower(trim(line.substr(0, colon)));
    std::string value = trim(line.substr(colon + 1));
    auto [it, fresh] = headers_.emplace(name, value);
    if (!fresh) it->second += ", " + value;
  }

  if (lower(header("transfer-encoding")).find("chunked") != std::string::npos) {
    framing_ = Framing::kChunked;
  } else if (auto length = header("content-length"); !length.empty()) {
    auto n = parse_decimal(length);
    if (!n) return fail("bad Content-Length: " + length);
    framing_ = Framing::kLength;
    remaining_ = *n;
  } else if (*code == 204 || *code == 304) {
    framing_ = Framing::kLength;
    remaining_ = 0;
  }
  status_ = static_cast<int>(*code);
  timed_out_ = false;
  decode();
}

SseClient::~SseClient() { close(); }

std::string SseClient::header(const std::string& lower_name) const {
  auto it = headers_.find(lower_name);
  return it == headers_.end() ? std::string() : it->second;
}

void SseClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void SseClient::fail(const std::string& why) {
  if (error_.empty()) error_ = why;
  connection_done_ = true;
  body_done_ = true;
  close();
}

bool SseClient::fill(Clock::time_point deadline) {
  if (connection_done_) return false;
  if (fd_ < 0) {
    fail("connection closed by the client");
    return false;
  }
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count())));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      fail(std::string("poll: ") + std::strerror(errno));
      return false;
    }
    if (ready == 0) {
      timed_out_ = true;
      return false;
    }
    char buf[16 * 1024];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      fail(std::string("recv: ") + std::strerror(errno));
      return false;
    }
    if (n == 0) {
      connection_done_ = true;
      return false;
    }
    raw_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
}

void SseClient::decode() {
  if (body_done_) return;
  switch (framing_) {
    case Framing::kUntilClose:
      body_ += raw_;
      raw_.clear();
      if (connection_done_) body_done_ = true;
      return;
    case Framing::kLength: {
      std::size_t n = std::min(remaining_, raw_.size());
      body_.append(raw_, 0, n);
      raw_.erase(0, n);
      remaining_ -= n;
      if (remaining_ == 0) {
        body_done_ = true;
      } else if (connection_done_) {
        fail("connection closed before the end of the body");
      }
      return;
    }
    case Framing::kChunked:
      break;
  }
  for (;;) {
    if (chunk_state_ == ChunkState::kData) {
      std::size_t n = std::min(remaining_, raw_.size());
      body_.append(raw_, 0, n);
      raw_.erase(0, n);
      remaining_ -= n;
      if (remaining_ > 0) break;
      chunk_state_ = ChunkState::kDataEnd;
      continue;
    }
    auto newline = raw_.find('\n');
    if (newline == std::string::npos) break;
    std::string line = raw_.substr(0, newline);
    raw_.erase(0, newline + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (chunk_state_ == ChunkState::kSize) {
      auto size = parse_chunk_size(line);
      if (!size) return fail("bad chunk size line: " + line);
      remaining_ = *size;
      chunk_state_ = *size == 0 ? ChunkState::kTrailer : ChunkState::kData;
    } else if (chunk_state_ == ChunkState::kDataEnd) {
      if (!line.empty()) return fail("chunk data longer than its size");
      chunk_state_ = ChunkState::kSize;
    } else if (line.empty()) {
      body_done_ = true;
      return;
    }
  }
  if (connection_done_) fail("connection closed before the last chunk");
}

bool SseClient::more_body(Clock::time_point deadline) {
  std::size_t before = body_.size();
  for (;;) {
    decode();
    if (body_.size() > before || body_done_) return true;
    if (!fill(deadline) && !connection_done_) return false;
  }
}

std::optional<std::string> SseClient::take_line() {
  auto end = body_.find_first_of("\r\n");
  if (end == std::string::npos) return std::nullopt;
  std::size_t terminator = 1;
  if (body_[end] == '\r') {
    // A CR that ends what arrived so far may be the first half of a CRLF.
    if (end + 1 == body_.size() && !body_done_) return std::nullopt;
    if (end + 1 < body_.size() && body_[end + 1] == '\n') terminator = 2;
  }
  std::string line = body_.substr(0, end);
  body_.erase(0, end + terminator);
  return line;
}

std::string SseClient::body() {
  auto deadline = Clock::now() + timeout_;
  while (!body_done_ && more_body(deadline)) {
  }
  std::string out = std::move(body_);
  body_.clear();
  return out;
}

std::optional<SseEvent> SseClient::next(std::chrono::milliseconds timeout) {
  timed_out_ = false;
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!bom_checked_ && (body_.size() >= 3 || body_done_)) {
      if (body_.rfind("\xEF\xBB\xBF", 0) == 0) body_.erase(0, 3);
      bom_checked_ = true;
    }
    while (bom_checked_) {
      auto line = take_line();
      if (!line) break;
      if (line->empty()) {
        bool dispatch = has_data_;
        SseEvent event{last_id_, event_type_, data_};
        event_type_.clear();
        data_.clear();
        has_data_ = false;
        if (!dispatch) continue;
        if (!event.data.empty() && event.data.back() == '\n') event.data.pop_back();
        return event;
      }
      if ((*line)[0] == ':') {
        ++comments_;
        continue;
      }
      auto colon = line->find(':');
      std::string field = line->substr(0, colon);
      std::string value;
      if (colon != std::string::npos) {
        value = line->substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      }
      if (field == "event") {
        event_type_ = value;
      } else if (field == "data") {
        data_ += value;
        data_ += '\n';
        has_data_ = true;
      } else if (field == "id") {
        if (value.find('\0') == std::string::npos) last_id_ = value;
      }
      // "retry" and unknown fields do not change what a test sees.
    }
    // An event without its closing blank line at the end of the stream is dropped, as the spec
    // says.
    if (body_done_) {
      ended_ = true;
      return std::nullopt;
    }
    if (!more_body(deadline)) return std::nullopt;
  }
}

}  // namespace jobgw::testing
