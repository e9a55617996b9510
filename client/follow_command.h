#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>

#include "client/cli_args.h"
#include "client/commands.h"
#include "client/gateway_client.h"
#include "client/log_printer.h"

namespace jobgw::client {

// `jobctl logs -f`: follows a step's logs to the end of every followed host. Exit 0 when every
// host ended with SUCCESS, 1 when one did not (as `jobctl watch` for a failed job), 3 when the
// stream failed.
int run_follow_logs(const CliCommand& command, GatewayClient& client, CommandIo& io);

// exec --watch --logs follows at most this many hosts live: jobgw's default follow.max_hosts.
inline constexpr int kMaxLiveLogHosts = 100;

// The FollowLogs request of exec --watch --logs for the job `ref`: every host of its step, or,
// for more than kMaxLiveLogHosts targets, the first kMaxLiveLogHosts of them and *note says so.
v1::FollowLogsRequest live_logs_request(const CliCommand& command, const v1::JobRef& ref,
                                        std::string* note);

// A FollowLogs stream read and printed on a thread of its own while the caller does something
// else (exec watches the job's status meanwhile). Output goes out under `output_mu`, the lock
// the caller's own output takes too.
class BackgroundLogs {
 public:
  BackgroundLogs(GatewayClient& client, v1::FollowLogsRequest request, WatchOptions options,
                 LogPrinterOptions printer_options, std::ostream& out, std::ostream& err,
                 std::mutex& output_mu);
  // The events go to `on_event` instead of a printer (transfer --watch's table takes the file
  // progress); `on_reconnect` hears of each reconnect. Both called under `output_mu`.
  BackgroundLogs(GatewayClient& client, v1::FollowLogsRequest request, WatchOptions options,
                 std::function<void(const v1::LogEvent&)> on_event,
                 std::function<void()> on_reconnect, std::mutex& output_mu);
  // Cancels the stream if it still runs.
  ~BackgroundLogs();
  BackgroundLogs(const BackgroundLogs&) = delete;
  BackgroundLogs& operator=(const BackgroundLogs&) = delete;

  // Waits up to `grace` for the stream to end by itself, else cancels it (*timed_out = true);
  // then prints what partial lines were held and returns how the stream ended.
  FollowLogsResult finish(std::chrono::milliseconds grace, bool* timed_out);
  // Ends the stream now, as finish does.
  FollowLogsResult cancel();
  // Asks the stream to end without waiting (safe from any thread, e.g. on Ctrl-C); cancel()
  // or finish() still follow.
  void request_cancel() { cancel_.cancel(); }

 private:
  void start(GatewayClient& client, v1::FollowLogsRequest request, WatchOptions options,
             std::function<void(const v1::LogEvent&)> on_event);
  FollowLogsResult join();

  std::mutex& output_mu_;
  std::optional<LogPrinter> printer_;
  StreamCancel cancel_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  bool done_ = false;
  FollowLogsResult result_;
  std::thread thread_;
};

}  // namespace jobgw::client
