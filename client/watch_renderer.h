#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "client/job_state.h"
#include "client/terminal_style.h"
#include "client/transfer_progress.h"
#include "jobgw/v1/job_gateway.pb.h"

namespace jobgw::client {

enum class RenderMode { kPlain, kJson, kTable };

struct RendererOptions {
  RenderMode mode = RenderMode::kPlain;
  // Table mode: hosts shown before "... N more hosts", when the terminal's height does not
  // already allow fewer; redraws for events at most once per min_redraw (ticks draw what that
  // held back).
  int max_rows = 50;
  std::chrono::milliseconds min_redraw{100};
  // Table mode: draw only the final frame (on FINISHED, or at finish()), and send notes to
  // `err`: other output shares the terminal meanwhile, and redraws would overwrite it.
  bool final_table_only = false;
  // Table mode: SGR colours (see colours_wanted).
  bool colour = false;
  // Plain mode: each line starts with the event's seq ("seq=12 ").
  bool verbose = false;
  // Table mode: the terminal's size at each frame; null or zeros when unknown (then max_rows
  // bounds the frame and lines are not cut).
  std::function<TerminalSize()> terminal_size;
  // How long "reconnected" stays in the table once the new stream delivers.
  std::chrono::milliseconds reconnected_note_for{3000};
  // Injected for tests; default steady_clock and local_clock_text.
  std::function<std::chrono::steady_clock::time_point()> clock;
  std::function<std::string(std::int64_t unix_ms)> clock_text;
  // Flags the confirmation prompt's commands carry (connection_flags), so they work as printed.
  std::string command_flags;
};

// Prints a watch as it goes. `out` gets the events; `err` gets reconnect notes in plain and
// JSON modes, so stdout stays one record per line for scripts. Not thread-safe: the caller
// serialises every call (events, ticks and log events come from different threads).
class WatchRenderer {
 public:
  WatchRenderer(RendererOptions options, std::ostream& out, std::ostream& err);

  // Called after `state` has applied `event`.
  void on_event(const v1::StatusEvent& event, const JobState& state);
  // Called about 4 times a second while the watch runs: a live table redraws so elapsed times
  // move between events, and a redraw the rate limit held is drawn now, never only at the next
  // event.
  void tick(const JobState& state);
  // A FollowLogs event of the watched step: FILE entries become the hosts' transfer progress.
  void on_log_event(const v1::LogEvent& event);
  // That FollowLogs stream broke and opens again; its next event tells whether it resumed.
  void on_log_stream_reconnect();
  void on_reconnect(const grpc::Status& status, std::chrono::milliseconds delay, int attempt);
  // The reopened stream delivered its first event.
  void on_reconnected(int attempts);
  // The watch ended: draws a table redraw that the rate limit held back.
  void finish(const JobState& state);

 private:
  void plain_line(const v1::StatusEvent& event, const JobState& state);
  void on_notice(const v1::StatusEvent& event);
  void draw_table(const JobState& state);
  // The job's clock now: the latest observed_at_ms moved on by the local steady clock, never
  // going back.
  std::int64_t now_ms();
  std::string seq_prefix(const v1::StatusEvent& event) const;

  RendererOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  int lines_drawn_ = 0;
  bool pending_ = false;
  bool drawn_once_ = false;
  bool final_drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
  std::int64_t anchor_ms_ = 0;                         // an observed_at_ms ...
  std::chrono::steady_clock::time_point anchor_at_{};  // ... and when it came
  std::int64_t last_now_ms_ = 0;
  std::string note_;  // reconnecting / reconnected
  std::chrono::steady_clock::time_point note_until_{};
  bool note_expires_ = false;
  std::string banner_;  // JOB unreachable
  TransferProgress transfers_;
  bool logs_reconnected_ = false;
  const JobState* last_state_ = nullptr;
  // Plain mode: steps whose confirmation prompt was printed since they began to wait.
  std::set<std::int64_t> prompted_;
};

// What a table frame shows besides the job.
struct TableView {
  int max_rows = 50;
  // The terminal's size; 0: unknown. A frame takes at most rows - 1 lines (the cursor's line
  // stays below it) and each line at most `columns` cells.
  TerminalSize terminal;
  bool colour = false;
  std::int64_t now_ms = 0;
  // Lines under the summary (a JOB reachability banner, reconnect notes).
  std::vector<std::string> notices;
  // Transfer progress per host (PROGRESS column); null or empty: no such column.
  const TransferProgress* transfers = nullptr;
  // Flags of the commands a step waiting for confirmation prompts for.
  std::string command_flags;
};

// One table frame: the job, a progress bar of outcomes, a summary line, notices, then a row per
// host (failed first, then running, waiting, success; in the job's order within each group)
// and "... N more hosts" when they do not all fit. A job shown step by step (shows_steps) has a
// row per step and a prompt per step waiting for confirmation under its first line, and its
// bar, summary and host rows are those of the current step (the latest one with hosts, when
// the current step has none).
std::vector<std::string> table_frame(const JobState& state, const TableView& view);
// table_frame without colours, terminal or notices (exposed for tests and `jobctl status`).
std::vector<std::string> table_lines(const JobState& state, int max_rows, std::int64_t now_ms);

// "101 0:192.0.2.1", or just the address / "#id" when one part is missing.
std::string host_label(const v1::Host& host);
// "1.2s", "3m04s", "-" for 0.
std::string format_elapsed(std::int64_t ms);
// "success=3 failed=1" in name order.
std::string counts_text(const HostCounts& counts);
// "10 hosts: 7 success, 1 failed, 2 running | elapsed 4.2s" (outcomes with no host left out).
std::string summary_text(const HostCounts& counts, std::int64_t elapsed_ms);
// "[###xx>>...]": a cell per width/total hosts, success '#', failed 'x', running '>',
// waiting '.', in that order; every outcome that has a host gets at least one cell.
std::string outcome_bar(const HostCounts& counts, int width = 30);

}  // namespace jobgw::client
