#include "client/watch_renderer.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <climits>
#include <cstdio>
#include <utility>

#include "api/status_names.h"
#include "client/gateway_client.h"
#include "client/plan_view.h"

namespace jobgw::client {
namespace {

std::string pad(const std::string& s, std::size_t width) {
  std::size_t w = display_width(s);
  return w >= width ? s + " " : s + std::string(width - w, ' ');
}

std::int64_t host_elapsed(const v1::HostResult& h, std::int64_t now_ms) {
  if (h.total_time_ms() > 0) return h.total_time_ms();
  if (h.start_time_ms() == 0) return 0;
  std::int64_t end = h.end_time_ms() != 0 ? h.end_time_ms() : now_ms;
  return std::max<std::int64_t>(0, end - h.start_time_ms());
}

std::int64_t job_elapsed(const v1::JobSnapshot& snap, std::int64_t now_ms) {
  if (snap.total_time_ms() != 0) return snap.total_time_ms();
  if (snap.start_time_ms() == 0) return 0;
  std::int64_t end = snap.end_time_ms() != 0 ? snap.end_time_ms() : now_ms;
  return std::max<std::int64_t>(0, end - snap.start_time_ms());
}

Colour outcome_colour(Outcome o) {
  switch (o) {
    case Outcome::kFailed:
      return Colour::kRed;
    case Outcome::kRunning:
      return Colour::kYellow;
    case Outcome::kWaiting:
      return Colour::kDim;
    case Outcome::kSuccess:
      return Colour::kGreen;
  }
  return Colour::kNone;
}

Colour job_colour(int status) {
  if (status == v1::JOB_STATUS_SUCCESS) return Colour::kGreen;
  if (api::job_status_terminal(status)) return Colour::kRed;
  return Colour::kYellow;
}

// A line in pieces of one colour each, so it can be cut to the terminal's width before the
// escape codes go in.
using Line = std::vector<std::pair<std::string, Colour>>;

std::string render(const Line& line, const TableView& view) {
  std::string out;
  std::size_t room = view.terminal.columns > 0 ? static_cast<std::size_t>(view.terminal.columns)
                                               : static_cast<std::size_t>(-1);
  for (const auto& [text, colour] : line) {
    if (room == 0) break;
    std::string piece = text;
    std::size_t w = display_width(piece);
    if (w > room) {
      piece = cut_to_width(piece, room);
      w = room;
    }
    room -= w;
    out += view.colour ? coloured(colour, piece) : piece;
  }
  return out;
}

// Cells of success, failed, running and waiting in a bar of `width`.
std::array<int, 4> bar_cells(const HostCounts& counts, int width) {
  std::array<int, 4> n = {counts.success, counts.failed, counts.running, counts.waiting};
  std::array<int, 4> cells{};
  if (counts.total <= 0) return cells;
  // Largest remainders, so the cells add up to the width exactly.
  std::array<long long, 4> rem{};
  int used = 0;
  for (int i = 0; i < 4; ++i) {
    long long scaled = static_cast<long long>(n[i]) * width;
    cells[i] = static_cast<int>(scaled / counts.total);
    rem[i] = scaled % counts.total;
    used += cells[i];
  }
  while (used < width) {
    int best = 0;
    for (int i = 1; i < 4; ++i) {
      if (rem[i] > rem[best]) best = i;
    }
    if (rem[best] <= 0) break;
    ++cells[best];
    rem[best] = 0;
    ++used;
  }
  // One failed host among a thousand still shows: it takes a cell from the widest segment.
  for (int i = 0; i < 4; ++i) {
    if (n[i] > 0 && cells[i] == 0) {
      int widest = static_cast<int>(std::max_element(cells.begin(), cells.end()) - cells.begin());
      if (cells[widest] > 1) {
        --cells[widest];
        ++cells[i];
      }
    }
  }
  return cells;
}

constexpr std::array<char, 4> kBarChars = {'#', 'x', '>', '.'};
constexpr std::array<Outcome, 4> kBarOutcomes = {Outcome::kSuccess, Outcome::kFailed,
                                                 Outcome::kRunning, Outcome::kWaiting};
constexpr int kBarWidth = 30;

Line bar_line(const HostCounts& counts) {
  auto cells = bar_cells(counts, kBarWidth);
  Line line = {{"[", Colour::kNone}};
  int drawn = 0;
  for (int i = 0; i < 4; ++i) {
    line.push_back({std::string(cells[i], kBarChars[i]), outcome_colour(kBarOutcomes[i])});
    drawn += cells[i];
  }
  // No hosts known yet: an empty bar.
  line.push_back({std::string(kBarWidth - drawn, ' '), Colour::kNone});
  line.push_back({"] " + std::to_string(counts.done) + "/" + std::to_string(counts.total) + " done",
                  Colour::kNone});
  return line;
}

Line summary_line(const HostCounts& counts, std::int64_t elapsed_ms) {
  Line line = {
      {std::to_string(counts.total) + (counts.total == 1 ? " host" : " hosts"), Colour::kNone}};
  const std::array<std::pair<int, Outcome>, 4> parts = {{{counts.success, Outcome::kSuccess},
                                                         {counts.failed, Outcome::kFailed},
                                                         {counts.running, Outcome::kRunning},
                                                         {counts.waiting, Outcome::kWaiting}}};
  static const std::array<const char*, 4> names = {"success", "failed", "running", "waiting"};
  bool first = true;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].first == 0) continue;
    line.push_back({first ? ": " : ", ", Colour::kNone});
    first = false;
    line.push_back(
        {std::to_string(parts[i].first) + " " + names[i], outcome_colour(parts[i].second)});
  }
  line.push_back({" | elapsed " + format_elapsed(elapsed_ms), Colour::kNone});
  return line;
}

std::string outcome_counts_text(const HostCounts& c) {
  std::string out;
  const std::array<std::pair<int, const char*>, 4> parts = {{{c.failed, "failed"},
                                                             {c.running, "running"},
                                                             {c.waiting, "waiting"},
                                                             {c.success, "success"}}};
  for (const auto& [n, name] : parts) {
    if (n == 0) continue;
    if (!out.empty()) out += ", ";
    out += std::to_string(n) + " " + name;
  }
  return out;
}

int outcome_rank(Outcome o) {
  switch (o) {
    case Outcome::kFailed:
      return 0;
    case Outcome::kRunning:
      return 1;
    case Outcome::kWaiting:
      return 2;
    case Outcome::kSuccess:
      return 3;
  }
  return 4;
}

}  // namespace

std::string host_label(const v1::Host& host) {
  if (host.host_id() != 0 && !host.ip().empty()) {
    return std::to_string(host.host_id()) + " " + host_address(host);
  }
  return host_address(host);
}

std::string format_elapsed(std::int64_t ms) {
  if (ms <= 0) return "-";
  char buf[32];
  if (ms < 60000) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  } else {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(ms / 60000),
                  static_cast<long long>((ms / 1000) % 60));
  }
  return buf;
}

std::string counts_text(const HostCounts& counts) {
  std::string out;
  for (const auto& [name, n] : counts.by_status) {
    if (!out.empty()) out += " ";
    out += name + "=" + std::to_string(n);
  }
  return out;
}

std::string summary_text(const HostCounts& counts, std::int64_t elapsed_ms) {
  std::string out;
  for (const auto& [text, colour] : summary_line(counts, elapsed_ms)) out += text;
  return out;
}

std::string outcome_bar(const HostCounts& counts, int width) {
  auto cells = bar_cells(counts, width);
  std::string out = "[";
  int drawn = 0;
  for (int i = 0; i < 4; ++i) {
    out += std::string(cells[i], kBarChars[i]);
    drawn += cells[i];
  }
  return out + std::string(width - drawn, ' ') + "]";
}

namespace {

// The step whose hosts a step-by-step frame shows: the current one, or when it has no hosts (a
// confirmation) the latest earlier one that has; -1 for none.
int host_step_index(const v1::JobSnapshot& snap) {
  const int current = current_step_index(snap);
  for (int i = current; i >= 0; --i) {
    if (snap.steps(i).hosts_size() > 0) return i;
  }
  return current;
}

// A row per step and the prompt of each step waiting for a user.
void step_lines(const v1::JobSnapshot& snap, const TableView& view, std::vector<Line>* lines) {
  lines->push_back(
      {{pad("STEP", 10) + pad("TYPE", 14) + pad("STATUS", 22) + pad("ELAPSED", 9) + "NAME",
        Colour::kNone}});
  for (const auto& step : snap.steps()) {
    const bool pending =
        step.status() == v1::JOB_STATUS_PENDING || step.status() == v1::JOB_STATUS_UNSPECIFIED;
    lines->push_back(
        {{pad(std::to_string(step.step_instance_id()), 10) +
              pad(step.type() == v1::STEP_TYPE_UNSPECIFIED ? "-" : api::step_type_name(step.type()),
                  14),
          Colour::kNone},
         {pad(api::job_status_name(step.status()), 22),
          pending ? Colour::kDim : job_colour(step.status())},
         {pad(format_elapsed(step_elapsed(step, view.now_ms)), 9) +
              (step.name().empty() ? "-" : step.name()),
          Colour::kNone}});
  }
  for (const auto& step : snap.steps()) {
    if (waits_for_user(step)) {
      lines->push_back({{confirmation_prompt(snap.job_instance_id(), step, view.command_flags),
                         Colour::kYellow}});
    }
  }
}

}  // namespace

std::vector<std::string> table_frame(const JobState& state, const TableView& view) {
  const auto& snap = state.snapshot();
  const bool by_step = shows_steps(snap);
  const int host_step = by_step ? host_step_index(snap) : -1;
  const auto counts = host_step >= 0 ? step_counts(snap.steps(host_step)) : state.counts();
  const bool progress_column = view.transfers != nullptr && !view.transfers->empty();

  std::vector<Line> top;
  Line head = {{"job " + std::to_string(snap.job_instance_id()), Colour::kBold}};
  if (!snap.name().empty()) head.push_back({" " + snap.name(), Colour::kNone});
  head.push_back({"  status: ", Colour::kNone});
  head.push_back({api::job_status_name(snap.status()), job_colour(snap.status())});
  top.push_back(head);
  if (by_step) {
    step_lines(snap, view, &top);
    if (host_step >= 0) {
      top.push_back({{"hosts of " + step_label(snap.steps(host_step)) + ":", Colour::kBold}});
    }
  }
  top.push_back(bar_line(counts));
  top.push_back(summary_line(counts, job_elapsed(snap, view.now_ms)));
  for (const auto& notice : view.notices) top.push_back({{notice, Colour::kYellow}});
  top.push_back({{pad("HOST", 8) + pad("ADDRESS", 28) + pad("STATUS", 20) + pad("EXIT", 6) +
                      (progress_column ? pad("ELAPSED", 9) + "PROGRESS" : "ELAPSED"),
                  Colour::kNone}});

  // Failed hosts first: they are what someone watching acts on.
  std::vector<const v1::HostResult*> hosts;
  for (int i = 0; i < snap.steps_size(); ++i) {
    if (by_step && i != host_step) continue;
    for (const auto& h : snap.steps(i).hosts()) hosts.push_back(&h);
  }
  std::stable_sort(hosts.begin(), hosts.end(), [](const auto* a, const auto* b) {
    return outcome_rank(host_outcome(a->status())) < outcome_rank(host_outcome(b->status()));
  });

  // The frame keeps the terminal's last line for the cursor; a taller frame would scroll, and
  // moving up over it would then land inside it.
  const int room = view.terminal.rows > 0 ? view.terminal.rows - 1 : INT_MAX;
  const int total = static_cast<int>(hosts.size());
  const int fixed = static_cast<int>(top.size());
  int shown = std::min(total, std::min(view.max_rows, room - fixed));
  if (shown < total) shown = std::max(0, std::min(view.max_rows, room - fixed - 1));

  std::vector<Line> lines = std::move(top);
  HostCounts hidden;
  for (int i = 0; i < total; ++i) {
    const auto& h = *hosts[static_cast<std::size_t>(i)];
    if (i >= shown) {
      hidden.add(h.status());
      continue;
    }
    const Outcome outcome = host_outcome(h.status());
    const bool final_status = api::host_status_final(h.status());
    const Colour row = outcome == Outcome::kFailed ? Colour::kRed : Colour::kNone;
    Line line = {{pad(h.host().host_id() ? std::to_string(h.host().host_id()) : "-", 8) +
                      pad(h.host().ip().empty() ? "-" : host_address(h.host()), 28),
                  row},
                 {pad(api::host_status_name(h.status()), 20), outcome_colour(outcome)}};
    std::string rest = pad(final_status ? std::to_string(h.exit_code()) : "", 6);
    if (progress_column) {
      rest += pad(format_elapsed(host_elapsed(h, view.now_ms)), 9) + view.transfers->text(h.host());
    } else {
      rest += format_elapsed(host_elapsed(h, view.now_ms));
    }
    line.push_back({rest, row});
    lines.push_back(std::move(line));
  }
  if (hidden.total > 0) {
    lines.push_back({{"... " + std::to_string(hidden.total) + " more hosts (" +
                          outcome_counts_text(hidden) + ")",
                      Colour::kNone}});
  }
  if (static_cast<int>(lines.size()) > room) lines.resize(static_cast<std::size_t>(room));

  std::vector<std::string> out;
  out.reserve(lines.size());
  for (const auto& line : lines) out.push_back(render(line, view));
  return out;
}

std::vector<std::string> table_lines(const JobState& state, int max_rows, std::int64_t now_ms) {
  TableView view;
  view.max_rows = max_rows;
  view.now_ms = now_ms;
  return table_frame(state, view);
}

WatchRenderer::WatchRenderer(RendererOptions options, std::ostream& out, std::ostream& err)
    : options_(std::move(options)), out_(out), err_(err) {
  if (!options_.clock) options_.clock = [] { return std::chrono::steady_clock::now(); };
  if (!options_.clock_text) options_.clock_text = local_clock_text;
}

std::int64_t WatchRenderer::now_ms() {
  if (anchor_ms_ == 0) return last_now_ms_;
  auto moved = std::chrono::duration_cast<std::chrono::milliseconds>(options_.clock() - anchor_at_);
  last_now_ms_ = std::max(last_now_ms_, anchor_ms_ + std::max<std::int64_t>(0, moved.count()));
  return last_now_ms_;
}

std::string WatchRenderer::seq_prefix(const v1::StatusEvent& event) const {
  return options_.verbose ? "seq=" + std::to_string(event.seq()) + " " : "";
}

void WatchRenderer::on_event(const v1::StatusEvent& event, const JobState& state) {
  // Re-anchored only forward: an event read earlier than the clock's estimate (a snapshot of
  // an older read) must not send elapsed times back.
  if (event.observed_at_ms() > 0 && event.observed_at_ms() >= now_ms()) {
    anchor_ms_ = event.observed_at_ms();
    anchor_at_ = options_.clock();
    last_now_ms_ = std::max(last_now_ms_, anchor_ms_);
  }
  last_state_ = &state;
  switch (options_.mode) {
    case RenderMode::kJson: {
      std::string json;
      google::protobuf::util::JsonPrintOptions opts;
      opts.preserve_proto_field_names = true;
      (void)google::protobuf::util::MessageToJsonString(event, &json, opts);
      out_ << json << "\n" << std::flush;
      return;
    }
    case RenderMode::kPlain:
      if (is_notice(event)) {
        on_notice(event);
      } else {
        plain_line(event, state);
      }
      return;
    case RenderMode::kTable: {
      if (is_notice(event)) {
        on_notice(event);
      } else if (!note_expires_) {
        note_.clear();  // the stream flows again
      }
      if (!state.has_snapshot()) return;
      auto now = options_.clock();
      bool final_event = event.kind() == v1::EVENT_KIND_FINISHED;
      bool held =
          options_.final_table_only || (drawn_once_ && now - last_draw_ < options_.min_redraw);
      if (!final_event && held) {
        pending_ = true;
        return;
      }
      draw_table(state);
      if (final_event) final_drawn_ = true;
      return;
    }
  }
}

void WatchRenderer::on_notice(const v1::StatusEvent& event) {
  const auto& r = event.reachability();
  std::string text;
  if (event.kind() == v1::EVENT_KIND_JOB_UNREACHABLE) {
    text = "JOB unreachable since " + options_.clock_text(r.unreachable_since_ms());
    if (!r.last_error().empty()) text += " (" + r.last_error() + ")";
    text += ": statuses may be stale";
  } else {
    text = "JOB reachable again";
    if (r.reachable_since_ms() != 0) text += " at " + options_.clock_text(r.reachable_since_ms());
    if (r.unreachable_since_ms() != 0) {
      text += " (unreachable since " + options_.clock_text(r.unreachable_since_ms()) + ")";
    }
  }
  if (options_.mode == RenderMode::kPlain) {
    out_ << seq_prefix(event) << text << "\n" << std::flush;
    return;
  }
  if (options_.final_table_only) {
    err_ << "jobctl: " << text << "\n" << std::flush;
    return;
  }
  // The live table shows the outage while it lasts; its end needs no line of its own.
  if (event.kind() == v1::EVENT_KIND_JOB_UNREACHABLE) {
    banner_ = text;
  } else {
    banner_.clear();
  }
  pending_ = true;
}

void WatchRenderer::plain_line(const v1::StatusEvent& event, const JobState& state) {
  const auto& snap = state.snapshot();
  auto counts = state.counts();
  std::string done = "done=" + std::to_string(counts.done) + "/" + std::to_string(counts.total);
  std::string line = seq_prefix(event);
  const bool by_step = shows_steps(snap);
  std::vector<std::string> extra;  // lines after the event's own
  switch (event.kind()) {
    case v1::EVENT_KIND_SNAPSHOT:
      line += "snapshot job=" + std::to_string(snap.job_instance_id()) +
              " status=" + api::job_status_name(snap.status()) + " " + done;
      // Where a plan's job stands: each step, and what a waiting one needs.
      if (by_step) {
        for (const auto& step : snap.steps()) {
          extra.push_back(
              step_label(step) + " " +
              (step.type() == v1::STEP_TYPE_UNSPECIFIED ? "-" : api::step_type_name(step.type())) +
              " " + api::job_status_name(step.status()));
        }
        for (const auto& step : snap.steps()) {
          if (waits_for_user(step)) {
            prompted_.insert(step.step_instance_id());
            extra.push_back(
                confirmation_prompt(snap.job_instance_id(), step, options_.command_flags));
          }
        }
      }
      break;
    case v1::EVENT_KIND_FINISHED:
      line += "finished job=" + std::to_string(snap.job_instance_id()) +
              " status=" + api::job_status_name(snap.status()) + " " + done + " " +
              counts_text(counts);
      break;
    case v1::EVENT_KIND_JOB_CHANGED:
      line += "job " + std::to_string(snap.job_instance_id()) + " " +
              api::job_status_name(event.job().old_status()) + " -> " +
              api::job_status_name(event.job().new_status());
      break;
    case v1::EVENT_KIND_STEP_CHANGED: {
      const v1::StepSnapshot* step = nullptr;
      for (const auto& s : snap.steps()) {
        if (s.step_instance_id() == event.step().step_instance_id()) step = &s;
      }
      // A plan's steps are told apart by name; a fast_* job's one step keeps its short line.
      line += by_step && step != nullptr
                  ? step_label(*step)
                  : "step " + std::to_string(event.step().step_instance_id());
      line += " " + api::job_status_name(event.step().old_status()) + " -> " +
              api::job_status_name(event.step().new_status());
      const std::int64_t id = event.step().step_instance_id();
      if (event.step().new_status() != v1::JOB_STATUS_WAITING_USER) {
        prompted_.erase(id);  // a confirmation asked again is prompted for again
      } else if (step != nullptr && prompted_.insert(id).second) {
        extra.push_back(confirmation_prompt(snap.job_instance_id(), *step, options_.command_flags));
      }
      break;
    }
    case v1::EVENT_KIND_STEP_WAITING_USER: {
      // jobgw's own word that the step waits, right after its STEP_CHANGED: the prompt once.
      const std::int64_t id = event.step().step_instance_id();
      if (!prompted_.insert(id).second) return;
      v1::StepSnapshot named;
      named.set_step_instance_id(id);
      for (const auto& s : snap.steps()) {
        if (s.step_instance_id() == id) named = s;
      }
      line += confirmation_prompt(snap.job_instance_id(), named, options_.command_flags);
      break;
    }
    case v1::EVENT_KIND_HOST_CHANGED: {
      const auto& h = event.host();
      line += "host " + host_label(h.host()) + " " + api::host_status_name(h.old_status()) +
              " -> " + api::host_status_name(h.new_status());
      if (api::host_status_final(h.new_status())) line += " exit=" + std::to_string(h.exit_code());
      if (h.error_code() != 0) line += " error=" + std::to_string(h.error_code());
      if (!h.tag().empty()) line += " tag=" + h.tag();
      line += " " + done;
      break;
    }
    default:
      line += "event kind=" + std::to_string(event.kind());
      break;
  }
  out_ << line << "\n";
  for (const auto& e : extra) out_ << e << "\n";
  out_ << std::flush;
}

void WatchRenderer::draw_table(const JobState& state) {
  TableView view;
  view.max_rows = options_.max_rows;
  if (options_.terminal_size) view.terminal = options_.terminal_size();
  view.colour = options_.colour;
  view.now_ms = now_ms();
  if (!banner_.empty()) view.notices.push_back(banner_);
  if (!note_.empty()) view.notices.push_back(note_);
  view.transfers = &transfers_;
  view.command_flags = options_.command_flags;
  auto lines = table_frame(state, view);
  std::string frame;
  // Back to the top of the previous frame, then overwrite it line by line.
  if (lines_drawn_ > 0) frame += "\x1b[" + std::to_string(lines_drawn_) + "A";
  for (const auto& l : lines) frame += "\r\x1b[2K" + l + "\n";
  int extra = lines_drawn_ - static_cast<int>(lines.size());
  if (extra > 0) {
    for (int i = 0; i < extra; ++i) frame += "\r\x1b[2K\n";
    frame += "\x1b[" + std::to_string(extra) + "A";
  }
  lines_drawn_ = static_cast<int>(lines.size());
  out_ << frame << std::flush;
  last_draw_ = options_.clock();
  pending_ = false;
  drawn_once_ = true;
}

void WatchRenderer::tick(const JobState& state) {
  if (options_.mode != RenderMode::kTable || options_.final_table_only) return;
  if (!state.has_snapshot() || final_drawn_) return;
  if (note_expires_ && options_.clock() >= note_until_) {
    note_.clear();
    note_expires_ = false;
    pending_ = true;
  }
  // A finished job's times no longer move: only a held redraw is left to draw.
  if (pending_ || !state.finished()) draw_table(state);
}

void WatchRenderer::on_log_event(const v1::LogEvent& event) {
  if (logs_reconnected_) {
    logs_reconnected_ = false;
    // Not resumed: every entry comes again from the start.
    if (!event.resumed()) transfers_.clear();
  }
  transfers_.apply(event);
  if (event.kind() == v1::LOG_EVENT_KIND_FILE) pending_ = true;
}

void WatchRenderer::on_log_stream_reconnect() { logs_reconnected_ = true; }

void WatchRenderer::on_reconnect(const grpc::Status& status, std::chrono::milliseconds delay,
                                 int attempt) {
  std::string note = "reconnecting (attempt " + std::to_string(attempt) + ", in " +
                     std::to_string(delay.count()) + "ms): stream ended " +
                     api::grpc_code_name(status.error_code()) + ": " + status.error_message();
  if (options_.mode != RenderMode::kTable || options_.final_table_only) {
    err_ << "jobctl: " << note << "\n" << std::flush;
    return;
  }
  note_ = note;
  note_expires_ = false;
  if (last_state_ != nullptr && last_state_->has_snapshot() && !final_drawn_) {
    draw_table(*last_state_);
  } else {
    pending_ = true;
  }
}

void WatchRenderer::on_reconnected(int attempts) {
  std::string note =
      "reconnected after " + std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
  if (options_.mode != RenderMode::kTable || options_.final_table_only) {
    err_ << "jobctl: " << note << "\n" << std::flush;
    return;
  }
  // The first event of the new stream follows at once and draws it.
  note_ = note;
  note_expires_ = true;
  note_until_ = options_.clock() + options_.reconnected_note_for;
  pending_ = true;
}

void WatchRenderer::finish(const JobState& state) {
  if (options_.mode == RenderMode::kTable && pending_ && state.has_snapshot()) draw_table(state);
}

}  // namespace jobgw::client
