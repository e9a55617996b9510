#include "web.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_grpc.h"
#include "bench_http.h"
#include "bench_stats.h"
#include "jobgw/v1/job_gateway.grpc.pb.h"

namespace jobgw::bench {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// "0.200" for 200: a duration for sleep(1).
std::string sleep_arg(int ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%d.%03d", ms / 1000, ms % 1000);
  return buf;
}

// ---- the watched job: its hosts wait for a gate file, then end one after another ----------------

// A scratch directory whose file `go` opens the gate; removed with everything in it.
class Gate {
 public:
  Gate() {
    char dir[] = "/tmp/jobgw-bench-web.XXXXXX";
    if (mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
  }
  ~Gate() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string path() const { return dir_ + "/go"; }
  void open() const {
    std::ofstream out(path());
    if (!out) throw std::runtime_error("cannot create " + path());
  }

 private:
  std::string dir_;
};

// Host 100 + i waits for the gate (polled every 0.2 s, ten minutes at most: a benchmark that
// died leaves nothing running), then i x step_ms more.
std::string gated_script(const std::string& gate, int step_ms) {
  return "gate='" + gate +
         "'\n"
         "i=0\n"
         "while [ ! -e \"$gate\" ] && [ $i -lt 3000 ]; do sleep 0.2; i=$((i + 1)); done\n"
         "ms=$(( (JOB_HOST_ID - 100) * " +
         std::to_string(step_ms) +
         " ))\n"
         "sleep \"$((ms / 1000)).$(printf '%03d' $((ms % 1000)))\"\n"
         "echo \"host $JOB_HOST_ID done\"\n";
}

// Counts open streams; wait() until none is.
class Latch {
 public:
  void add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++open_;
  }
  void done() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--open_ == 0) cv_.notify_all();
  }
  bool wait_until(Clock::time_point until) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, until, [this] { return open_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int open_ = 0;
};

// ---- SSE: one epoll thread reading every stream ------------------------------------------------

// One event stream on a TCP connection of its own, parsed as it arrives: the HTTP/1.1 head, the
// chunked framing, then the event stream's lines (field: value, a blank line ends an event).
struct SseStream {
  enum class State { kConnecting, kHead, kChunkSize, kChunkData, kChunkEnd, kTrailer, kRaw, kDone };
  int fd = -1;
  State state = State::kConnecting;
  std::string request;
  std::size_t sent = 0;
  std::string in;  // received, not parsed yet
  std::size_t chunk_left = 0;
  std::string line;  // the event stream's unfinished line
  std::string event_name;
  std::string data;
  bool has_data = false;
  int http_status = 0;
  std::int64_t wire_bytes = 0;  // everything read off the socket
  std::int64_t data_bytes = 0;  // the events' data lines (the JSON)
  int events = 0;
  int events_after_gate = 0;
  std::int64_t first_event_ms = 0;
  std::int64_t fanout_ms = 0;
  bool finished = false;  // a FINISHED event arrived
  std::string end_code;   // the `end` event's code
  std::string error;
  bool ok() const { return finished && end_code == "OK" && error.empty(); }
};

// StatusEvent's observedAtMs (int64: a string in protobuf's JSON; the only field of that name in
// the message) out of its JSON text; 0 when absent.
std::int64_t observed_at_ms(const std::string& json) {
  const std::string key = "\"observedAtMs\":";
  auto at = json.rfind(key);
  if (at == std::string::npos) return 0;
  at += key.size();
  if (at < json.size() && json[at] == '"') ++at;
  return std::strtoll(json.c_str() + at, nullptr, 10);
}

class SseClient {
 public:
  // Opens one connection per target to 127.0.0.1:port and reads them all on a thread of its own
  // until each answer ends or `give_up`. Events received at or after `gate_ms` (Unix ms) are
  // counted apart.
  SseClient(int port, const std::vector<std::string>& targets,
            const std::atomic<std::int64_t>& gate_ms, Clock::time_point give_up)
      : port_(port), gate_ms_(gate_ms), give_up_(give_up), streams_(targets.size()) {
    // A connection each: the soft descriptor limit may be below the streams asked for.
    rlimit nofile{};
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
      nofile.rlim_cur = nofile.rlim_max;
      setrlimit(RLIMIT_NOFILE, &nofile);
    }
    for (std::size_t i = 0; i < targets.size(); ++i) {
      streams_[i].request = "GET " + targets[i] +
                            " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                            "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n";
    }
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + strerror(errno));
    thread_ = std::thread([this] { run(); });
  }
  ~SseClient() {
    if (thread_.joinable()) thread_.join();
    for (auto& s : streams_) {
      if (s.fd >= 0) ::close(s.fd);
    }
    ::close(epoll_);
  }
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  int started() const { return started_.load(); }
  // Until every stream ended (or the give-up time passed); then streams() may be read.
  void wait() { thread_.join(); }
  const std::vector<SseStream>& streams() const { return streams_; }

 private:
  void run() {
    int open = 0;
    for (std::size_t i = 0; i < streams_.size(); ++i) {
      if (connect_one(i)) ++open;
    }
    std::vector<epoll_event> ready(256);
    std::vector<char> buf(64 * 1024);
    while (open > 0 && Clock::now() < give_up_) {
      const int n = epoll_wait(epoll_, ready.data(), static_cast<int>(ready.size()), 100);
      if (n < 0 && errno != EINTR) break;
      for (int e = 0; e < n; ++e) {
        SseStream& s = streams_[ready[e].data.u32];
        if (s.fd < 0) continue;
        const std::uint32_t what = ready[e].events;
        if (s.state == SseStream::State::kConnecting) {
          int err = 0;
          socklen_t len = sizeof err;
          getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0) {
            open -= close_stream(s, std::string("connect: ") + strerror(err));
            continue;
          }
          if (!(what & EPOLLOUT)) continue;
          s.state = SseStream::State::kHead;
        }
        if (s.sent < s.request.size() && !send_request(s)) {
          open -= close_stream(s, std::string("send: ") + strerror(errno));
          continue;
        }
        if (what & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) open -= read_all(s, buf);
      }
    }
    for (auto& s : streams_) {
      if (s.fd >= 0) close_stream(s, "no end before the give-up time");
    }
  }

  bool connect_one(std::size_t i) {
    SseStream& s = streams_[i];
    s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.fd < 0) {
      s.error = std::string("socket: ") + strerror(errno);
      return false;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
        errno != EINPROGRESS) {
      close_stream(s, std::string("connect: ") + strerror(errno));
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, s.fd, &ev) != 0) {
      close_stream(s, std::string("epoll_ctl: ") + strerror(errno));
      return false;
    }
    return true;
  }

  bool send_request(SseStream& s) {
    while (s.sent < s.request.size()) {
      const ssize_t n =
          ::send(s.fd, s.request.data() + s.sent, s.request.size() - s.sent, MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
      s.sent += static_cast<std::size_t>(n);
    }
    // Sent: readable is all that matters from now on.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u32 = static_cast<std::uint32_t>(&s - streams_.data());
    epoll_ctl(epoll_, EPOLL_CTL_MOD, s.fd, &ev);
    return true;
  }

  // Reads what the socket has; 1 when the stream closed (ended or broke), else 0. What a read
  // returns was received at the read's time at the latest.
  int read_all(SseStream& s, std::vector<char>& buf) {
    for (;;) {
      const ssize_t n = ::read(s.fd, buf.data(), buf.size());
      const std::int64_t now = unix_ms();
      if (n > 0) {
        s.wire_bytes += n;
        s.in.append(buf.data(), static_cast<std::size_t>(n));
        parse(s, now);
        if (s.state == SseStream::State::kDone) return close_stream(s, s.error);
        continue;
      }
      if (n == 0) {
        if (s.state == SseStream::State::kRaw) {
          s.state = SseStream::State::kDone;
          return close_stream(s, s.error);
        }
        return close_stream(s, "the server closed the connection before the end of the answer");
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      if (errno == EINTR) continue;
      return close_stream(s, std::string("read: ") + strerror(errno));
    }
  }

  int close_stream(SseStream& s, const std::string& error) {
    if (s.error.empty()) s.error = error;
    if (s.fd < 0) return 0;
    ::close(s.fd);  // also leaves the epoll set
    s.fd = -1;
    return 1;
  }

  void parse(SseStream& s, std::int64_t now) {
    using State = SseStream::State;
    for (;;) {
      switch (s.state) {
        case State::kHead: {
          const auto end = s.in.find("\r\n\r\n");
          if (end == std::string::npos) return;
          std::string head = s.in.substr(0, end);
          s.in.erase(0, end + 4);
          std::sscanf(head.c_str(), "HTTP/%*d.%*d %d", &s.http_status);
          std::transform(head.begin(), head.end(), head.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
          if (s.http_status != 200) {
            s.error = "HTTP " + std::to_string(s.http_status) + ": " + s.in.substr(0, 300);
            s.state = State::kDone;
            return;
          }
          s.state = head.find("transfer-encoding: chunked") != std::string::npos ? State::kChunkSize
                                                                                 : State::kRaw;
          break;
        }
        case State::kChunkSize: {
          const auto end = s.in.find("\r\n");
          if (end == std::string::npos) return;
          const std::size_t size = std::strtoul(s.in.c_str(), nullptr, 16);
          s.in.erase(0, end + 2);
          s.chunk_left = size;
          s.state = size == 0 ? State::kTrailer : State::kChunkData;
          break;
        }
        case State::kChunkData: {
          if (s.in.empty()) return;
          const std::size_t n = std::min(s.chunk_left, s.in.size());
          feed(s, s.in.data(), n, now);
          s.in.erase(0, n);
          s.chunk_left -= n;
          if (s.chunk_left == 0) s.state = State::kChunkEnd;
          break;
        }
        case State::kChunkEnd:
          if (s.in.size() < 2) return;
          s.in.erase(0, 2);
          s.state = State::kChunkSize;
          break;
        case State::kTrailer: {
          const auto end = s.in.find("\r\n");
          if (end == std::string::npos) return;
          s.in.erase(0, end + 2);
          if (end == 0) {
            s.state = State::kDone;  // the last chunk: the answer is complete
            return;
          }
          break;
        }
        case State::kRaw:
          feed(s, s.in.data(), s.in.size(), now);
          s.in.clear();
          return;
        case State::kConnecting:
        case State::kDone:
          return;
      }
    }
  }

  // The event stream's bytes: lines end with \n (a \r before it is dropped).
  void feed(SseStream& s, const char* p, std::size_t n, std::int64_t now) {
    const char* end = p + n;
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
      if (nl == nullptr) {
        s.line.append(p, end);
        return;
      }
      s.line.append(p, nl);
      if (!s.line.empty() && s.line.back() == '\r') s.line.pop_back();
      on_line(s, now);
      s.line.clear();
      p = nl + 1;
    }
  }

  void on_line(SseStream& s, std::int64_t now) {
    const std::string& line = s.line;
    if (line.empty()) {
      dispatch(s, now);
      return;
    }
    if (line[0] == ':') return;  // a comment: the heartbeat
    const auto colon = line.find(':');
    const std::string field = line.substr(0, colon);
    std::string value;
    if (colon != std::string::npos) {
      value = line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    }
    if (field == "event") {
      s.event_name = value;
    } else if (field == "data") {
      if (s.has_data) s.data += '\n';
      s.data += value;
      s.has_data = true;
    }
  }

  void dispatch(SseStream& s, std::int64_t now) {
    if (!s.has_data) {
      s.event_name.clear();
      return;
    }
    if (s.event_name == "end") {
      auto end = nlohmann::json::parse(s.data, nullptr, false);
      s.end_code = end.is_object() ? end.value("code", std::string("?")) : "unparsable";
      if (s.end_code != "OK" && s.error.empty()) {
        s.error = "end: " + s.data.substr(0, 300);
      }
    } else {
      ++s.events;
      s.data_bytes += static_cast<std::int64_t>(s.data.size());
      if (s.first_event_ms == 0) {
        s.first_event_ms = now;
        started_.fetch_add(1);
      }
      if (now >= gate_ms_.load()) ++s.events_after_gate;
      // The receive time is the read's. FINISHED's observedAtMs is picked out of the text, not
      // parsed as JSON: 1000 snapshots parsed one after another would delay the reads of the
      // streams still waiting, inflating their fan-out.
      if (s.data.find("\"kind\":\"EVENT_KIND_FINISHED\"") != std::string::npos) {
        s.finished = true;
        s.fanout_ms = now - observed_at_ms(s.data);
      }
    }
    s.event_name.clear();
    s.data.clear();
    s.has_data = false;
  }

  const int port_;
  const std::atomic<std::int64_t>& gate_ms_;
  const Clock::time_point give_up_;
  std::vector<SseStream> streams_;
  std::atomic<int> started_{0};
  int epoll_ = -1;
  std::thread thread_;
};

// ---- gRPC: WatchStatus streams counting what they receive ----------------------------------

class CountingWatch : public grpc::ClientReadReactor<v1::StatusEvent> {
 public:
  CountingWatch(v1::JobGateway::Stub* stub, std::int64_t job_id,
                std::chrono::system_clock::time_point deadline,
                const std::atomic<std::int64_t>& gate_ms, std::atomic<int>& started, Latch& latch)
      : gate_ms_(gate_ms), started_(started), latch_(latch) {
    latch_.add();
    start_watch(this, stub, context_, request_, event_, job_id, deadline);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    const std::int64_t now = unix_ms();
    ++events_;
    bytes_ += static_cast<std::int64_t>(event_.ByteSizeLong());
    if (events_ == 1) started_.fetch_add(1);
    if (now >= gate_ms_.load()) ++events_after_gate_;
    if (event_.kind() == v1::EVENT_KIND_FINISHED) {
      finished_ = true;
      fanout_ms_ = now - event_.observed_at_ms();
    }
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    status_ = status;
    latch_.done();
  }

  // Valid once the latch opened.
  bool ok() const { return finished_ && status_.ok(); }
  const grpc::Status& status() const { return status_; }
  bool finished() const { return finished_; }
  int events() const { return events_; }
  int events_after_gate() const { return events_after_gate_; }
  std::int64_t bytes() const { return bytes_; }
  std::int64_t fanout_ms() const { return fanout_ms_; }

 private:
  grpc::ClientContext context_;
  v1::WatchStatusRequest request_;
  v1::StatusEvent event_;
  const std::atomic<std::int64_t>& gate_ms_;
  std::atomic<int>& started_;
  Latch& latch_;
  grpc::Status status_;
  int events_ = 0;
  int events_after_gate_ = 0;
  std::int64_t bytes_ = 0;
  bool finished_ = false;
  std::int64_t fanout_ms_ = 0;
};

nlohmann::json run_watch(const WebOptions& o) {
  const bool sse = o.transport == "sse";
  if (!sse && o.transport != "grpc") throw std::runtime_error("--transport: sse or grpc");
  if (o.jobgw_pid <= 0) throw std::runtime_error("web --part watch needs --jobgw-pid");
  if (sse && o.http_port <= 0) throw std::runtime_error("--transport sse needs --http-port");
  Gate gate;
  auto stubs = make_stubs(o.grpc_address, sse ? 1 : std::max(1, o.channels));
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(o.timeout_s);
  const auto give_up = Clock::now() + std::chrono::seconds(o.timeout_s);
  const std::int64_t job_id = submit_through_gateway(*stubs[0], host_range(o.hosts),
                                                     gated_script(gate.path(), o.step_ms), "web")
                                  .job_instance_id();
  // The job is watched from its submit: its own memory is in the "before".
  std::this_thread::sleep_for(milliseconds(o.settle_ms));
  const std::int64_t rss_before = process_rss_kib(o.jobgw_pid);

  std::atomic<std::int64_t> gate_ms{std::numeric_limits<std::int64_t>::max()};
  const auto start = Clock::now();
  std::unique_ptr<SseClient> client;
  std::atomic<int> grpc_started{0};
  Latch latch;
  std::vector<std::unique_ptr<CountingWatch>> watches;
  if (sse) {
    const std::string target = "/v1/scopes/biz/1/jobs/" + std::to_string(job_id) + "/events";
    client = std::make_unique<SseClient>(o.http_port, std::vector<std::string>(o.streams, target),
                                         gate_ms, give_up);
  } else {
    for (int i = 0; i < o.streams; ++i) {
      watches.push_back(std::make_unique<CountingWatch>(stubs[i % stubs.size()].get(), job_id,
                                                        deadline, gate_ms, grpc_started, latch));
    }
  }
  // Every stream has its SNAPSHOT: all are open.
  auto started = [&] { return sse ? client->started() : grpc_started.load(); };
  while (started() < o.streams && Clock::now() < give_up)
    std::this_thread::sleep_for(milliseconds(20));
  const double open_s = std::chrono::duration<double>(Clock::now() - start).count();
  const int opened = started();
  std::this_thread::sleep_for(milliseconds(o.settle_ms));
  const std::int64_t rss_open = process_rss_kib(o.jobgw_pid);

  // The gate: the hosts end one after another from now on, every change fanned out to every
  // stream, until FINISHED ends them.
  const double cpu0 = process_cpu_ms(o.jobgw_pid);
  const auto gate_at = Clock::now();
  gate_ms = unix_ms();
  gate.open();
  if (sse) {
    client->wait();
  } else {
    latch.wait_until(give_up + std::chrono::seconds(10));
  }
  const double cpu1 = process_cpu_ms(o.jobgw_pid);
  const double changes_s = std::chrono::duration<double>(Clock::now() - gate_at).count();

  std::int64_t events = 0, after_gate = 0, bytes = 0, json_bytes = 0;
  std::vector<double> fanout;
  int done = 0, errors = 0;
  std::string first_error;
  auto fail = [&](const std::string& why) {
    ++errors;
    if (first_error.empty()) first_error = why;
  };
  if (sse) {
    for (const auto& s : client->streams()) {
      events += s.events;
      after_gate += s.events_after_gate;
      bytes += s.wire_bytes;
      json_bytes += s.data_bytes;
      if (s.ok()) {
        ++done;
        fanout.push_back(static_cast<double>(s.fanout_ms));
      } else {
        fail(!s.error.empty() ? s.error
             : !s.finished    ? "no FINISHED (end " + s.end_code + ")"
                              : "no end event after FINISHED");
      }
    }
  } else {
    for (const auto& w : watches) {
      events += w->events();
      after_gate += w->events_after_gate();
      bytes += w->bytes();
      if (w->ok()) {
        ++done;
        fanout.push_back(static_cast<double>(w->fanout_ms()));
      } else {
        fail(!w->finished() ? "no FINISHED: " + w->status().error_message()
                            : "ended " + std::to_string(w->status().error_code()) + ": " +
                                  w->status().error_message());
      }
    }
  }
  const Percentiles f = percentiles(fanout);
  const double cpu_ms = cpu1 - cpu0;
  const double per_event = static_cast<double>(std::max<std::int64_t>(events, 1));
  nlohmann::json out = {{"scenario", "web"},
                        {"part", "watch"},
                        {"mode", o.transport + " watch"},
                        {"transport", o.transport},
                        {"streams", o.streams},
                        {"connections", sse ? o.streams : static_cast<int>(stubs.size())},
                        {"hosts", o.hosts},
                        {"step_ms", o.step_ms},
                        {"job_instance_id", job_id},
                        {"opened", opened},
                        {"open_s", open_s},
                        {"rss_before_kib", rss_before},
                        {"rss_open_kib", rss_open},
                        {"rss_per_stream_kib", static_cast<double>(rss_open - rss_before) /
                                                   static_cast<double>(std::max(1, opened))},
                        {"events", events},
                        {"events_after_gate", after_gate},
                        {"changes_s", changes_s},
                        {"cpu_ms", cpu_ms},
                        {"cpu_us_per_event",
                         after_gate > 0 ? cpu_ms * 1000.0 / static_cast<double>(after_gate) : 0.0},
                        {"bytes", bytes},
                        {"bytes_per_event", static_cast<double>(bytes) / per_event},
                        {"fanout_ms_p50", f.p50},
                        {"fanout_ms_p99", f.p99},
                        {"fanout_ms_max", f.max},
                        {"callers_done", done},
                        {"errors", errors}};
  if (sse) out["json_bytes_per_event"] = static_cast<double>(json_bytes) / per_event;
  if (!first_error.empty()) out["first_error"] = first_error;
  return out;
}

// ---- follow: K FollowLogs followers of one step --------------------------------------------

class FollowStream : public grpc::ClientReadReactor<v1::LogEvent> {
 public:
  FollowStream(v1::JobGateway::Stub* stub, std::int64_t job_id, std::int64_t step_id,
               const std::vector<std::int64_t>& hosts,
               std::chrono::system_clock::time_point deadline, Latch& latch)
      : latch_(latch) {
    latch_.add();
    request_.mutable_scope()->set_type("biz");
    request_.mutable_scope()->set_id("1");
    request_.set_job_instance_id(job_id);
    request_.set_step_instance_id(step_id);
    for (auto id : hosts) request_.add_host_ids(id);
    context_.set_deadline(deadline);
    context_.set_wait_for_ready(true);
    stub->async()->FollowLogs(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    const std::int64_t host = event_.host().host_id();
    switch (event_.kind()) {
      case v1::LOG_EVENT_KIND_TEXT: {
        std::string& text = text_[host];
        // Never a byte twice, never one lost: each event starts where the last one stopped.
        if (event_.offset() != static_cast<std::int64_t>(text.size())) ++gaps_;
        text += event_.text();
        bytes_ += static_cast<std::int64_t>(event_.text().size());
        break;
      }
      case v1::LOG_EVENT_KIND_HOST_END:
        ended_.insert(host);
        break;
      default:
        break;
    }
    ++events_;
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    status_ = status;
    latch_.done();
  }

  // Valid once the latch opened.
  const grpc::Status& status() const { return status_; }
  const std::map<std::int64_t, std::string>& text() const { return text_; }
  const std::set<std::int64_t>& ended() const { return ended_; }
  std::int64_t bytes() const { return bytes_; }
  int gaps() const { return gaps_; }
  int events() const { return events_; }

 private:
  grpc::ClientContext context_;
  v1::FollowLogsRequest request_;
  v1::LogEvent event_;
  Latch& latch_;
  grpc::Status status_;
  std::map<std::int64_t, std::string> text_;  // host -> its text, in order
  std::set<std::int64_t> ended_;
  std::int64_t bytes_ = 0;
  int gaps_ = 0;
  int events_ = 0;
};

std::int64_t requests(const nlohmann::json& stats, const char* endpoint) {
  if (!stats.is_object() || !stats.contains("requests")) return 0;
  return stats["requests"].value(endpoint, std::int64_t{0});
}

nlohmann::json run_follow(const WebOptions& o) {
  if (o.k < 1 || o.lines < 1 || o.line_ms < 1) throw std::runtime_error("need --k, --lines >= 1");
  const auto hosts = host_range(3);
  auto stubs = make_stubs(o.grpc_address, std::clamp((o.k + 99) / 100, 1, 16));
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(o.timeout_s);
  const std::string script =
      "for i in $(seq 1 " + std::to_string(o.lines) +
      "); do\n"
      "  echo \"line $i of " +
      std::to_string(o.lines) +
      " on host $JOB_HOST_ID: the quick brown fox jumps over the lazy dog\"\n"
      "  sleep " +
      sleep_arg(o.line_ms) + "\ndone\n";

  const nlohmann::json before = jobsim_stats(o.jobsim_port);
  const auto start = Clock::now();
  const v1::JobRef ref = submit_through_gateway(*stubs[0], hosts, script, "web-follow");
  Latch latch;
  std::vector<std::unique_ptr<FollowStream>> followers;
  for (int i = 0; i < o.k; ++i) {
    followers.push_back(
        std::make_unique<FollowStream>(stubs[i % stubs.size()].get(), ref.job_instance_id(),
                                       ref.step_instance_id(), hosts, deadline, latch));
  }
  latch.wait_until(Clock::now() + std::chrono::seconds(o.timeout_s + 10));
  const double follow_s = std::chrono::duration<double>(Clock::now() - start).count();
  // A read still in flight when the last follower ended counts too.
  std::this_thread::sleep_for(milliseconds(o.settle_ms));
  const nlohmann::json after = jobsim_stats(o.jobsim_port);
  const std::int64_t log_reads = requests(after, "batch_get_job_instance_ip_log") -
                                 requests(before, "batch_get_job_instance_ip_log");
  std::int64_t status_reads = 0;
  if (after.is_object() && after.contains("status_reads")) {
    status_reads =
        after["status_reads"].value(std::to_string(ref.job_instance_id()), std::int64_t{0});
  }

  // The final logs, straight from jobsim (after the counts: these reads are not the followers').
  HttpConn conn(o.jobsim_port);
  std::string why;
  const nlohmann::json status = job_data(conn.get(status_target(ref.job_instance_id())), &why);
  const std::int64_t job_ms =
      status.is_object() ? status["job_instance"].value("total_time", std::int64_t{0}) : 0;
  const nlohmann::json logs =
      job_data(conn.post(job_path("batch_get_job_instance_ip_log"),
                         log_body(ref.job_instance_id(), ref.step_instance_id(), hosts)),
               &why);
  std::map<std::int64_t, std::string> final_log;
  if (logs.is_object()) {
    for (const auto& l : logs.value("script_task_logs", nlohmann::json::array())) {
      final_log[l.value("bk_host_id", std::int64_t{0})] = l.value("log_content", std::string());
    }
  }
  std::int64_t final_bytes = 0;
  for (const auto& [host, text] : final_log) final_bytes += static_cast<std::int64_t>(text.size());

  int equal = 0, errors = 0, events = 0;
  std::int64_t bytes_min = std::numeric_limits<std::int64_t>::max(), bytes_max = 0;
  std::string first_error;
  auto fail = [&](const std::string& what) {
    ++errors;
    if (first_error.empty()) first_error = what;
  };
  if (final_log.size() != hosts.size())
    fail("final logs: " + (why.empty() ? "hosts missing" : why));
  for (const auto& f : followers) {
    events += f->events();
    bytes_min = std::min(bytes_min, f->bytes());
    bytes_max = std::max(bytes_max, f->bytes());
    if (!f->status().ok()) {
      fail("follower ended " + std::to_string(f->status().error_code()) + ": " +
           f->status().error_message());
    } else if (f->ended().size() != hosts.size()) {
      fail("follower ended without every host's HOST_END");
    } else if (f->gaps() > 0) {
      fail("follower's TEXT offsets skip or repeat bytes");
    } else if (f->text() != final_log) {
      fail("follower's text (" + std::to_string(f->bytes()) + " bytes) is not the final log (" +
           std::to_string(final_bytes) + " bytes)");
    } else {
      ++equal;
    }
  }
  const double expected =
      static_cast<double>(job_ms) / static_cast<double>(std::max(1, o.follow_interval_ms));
  nlohmann::json out = {{"scenario", "web"},
                        {"part", "follow"},
                        {"mode", "follow K=" + std::to_string(o.k)},
                        {"k", o.k},
                        {"hosts", hosts.size()},
                        {"lines", o.lines},
                        {"line_ms", o.line_ms},
                        {"follow_interval_ms", o.follow_interval_ms},
                        {"job_instance_id", ref.job_instance_id()},
                        {"job_ms", job_ms},
                        {"follow_s", follow_s},
                        {"log_reads", log_reads},
                        {"expected_log_reads", expected},
                        {"status_reads", status_reads},
                        {"final_log_bytes", final_bytes},
                        {"follower_bytes_min", followers.empty() ? 0 : bytes_min},
                        {"follower_bytes_max", bytes_max},
                        {"events_per_follower", static_cast<double>(events) / o.k},
                        {"followers_equal", equal},
                        {"errors", errors}};
  if (!first_error.empty()) out["first_error"] = first_error;
  return out;
}

}  // namespace

nlohmann::json run_web(const WebOptions& o) {
  if (o.part == "watch") return run_watch(o);
  if (o.part == "follow") return run_follow(o);
  throw std::runtime_error("--part: watch or follow");
}

}  // namespace jobgw::bench
