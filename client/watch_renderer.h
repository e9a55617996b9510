#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "client/job_state.h"
#include "jobgw/v1/job_gateway.pb.h"

namespace jobgw::client {

enum class RenderMode { kPlain, kJson, kTable };

struct RendererOptions {
  RenderMode mode = RenderMode::kPlain;
  // Table mode: hosts shown before "... N more"; redraws at most once per min_redraw.
  int max_rows = 50;
  std::chrono::milliseconds min_redraw{100};
  // Table mode: draw only the final frame (on FINISHED, or at finish()), and send reconnect
  // notes to `err`: other output shares the terminal meanwhile, and redraws would overwrite it.
  bool final_table_only = false;
  // Injected for tests; default steady_clock.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

// Prints a watch as it goes. `out` gets the events; `err` gets reconnect notes in plain and
// JSON modes, so stdout stays one record per line for scripts.
class WatchRenderer {
 public:
  WatchRenderer(RendererOptions options, std::ostream& out, std::ostream& err);

  // Called after `state` has applied `event`.
  void on_event(const v1::StatusEvent& event, const JobState& state);
  void on_reconnect(const grpc::Status& status, std::chrono::milliseconds delay, int attempt);
  // The watch ended: draws a table redraw that the rate limit held back.
  void finish(const JobState& state);

 private:
  void plain_line(const v1::StatusEvent& event, const JobState& state);
  void draw_table(const JobState& state);

  RendererOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  int lines_drawn_ = 0;
  bool pending_ = false;
  bool drawn_once_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
  std::int64_t now_ms_ = 0;  // latest observed_at_ms: "now" for running hosts' elapsed time
  std::string note_;
  const JobState* last_state_ = nullptr;
};

// "101 0:192.0.2.1", or just the address / "#id" when one part is missing.
std::string host_label(const v1::Host& host);
// "1.2s", "3m04s", "-" for 0.
std::string format_elapsed(std::int64_t ms);
// One table frame without escape codes (exposed for tests).
std::vector<std::string> table_lines(const JobState& state, int max_rows, std::int64_t now_ms);
// "success=3 failed=1" in name order.
std::string counts_text(const HostCounts& counts);

}  // namespace jobgw::client
