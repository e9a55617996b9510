#include "client/watch_renderer.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "api/status_names.h"
#include "client/gateway_client.h"

namespace jobgw::client {
namespace {

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::string progress_bar(int done, int total, int width = 30) {
  int filled = total > 0 ? static_cast<int>(static_cast<long long>(done) * width / total) : 0;
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
}

std::int64_t host_elapsed(const v1::HostResult& h, std::int64_t now_ms) {
  if (h.total_time_ms() > 0) return h.total_time_ms();
  if (h.start_time_ms() == 0) return 0;
  std::int64_t end = h.end_time_ms() != 0 ? h.end_time_ms() : now_ms;
  return std::max<std::int64_t>(0, end - h.start_time_ms());
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

std::vector<std::string> table_lines(const JobState& state, int max_rows, std::int64_t now_ms) {
  const auto& snap = state.snapshot();
  auto counts = state.counts();
  std::vector<std::string> lines;
  std::string head = "job " + std::to_string(snap.job_instance_id());
  if (!snap.name().empty()) head += " " + snap.name();
  head += "  status: " + api::job_status_name(snap.status());
  std::int64_t job_ms = snap.total_time_ms();
  if (job_ms == 0 && snap.start_time_ms() != 0 && now_ms > snap.start_time_ms()) {
    job_ms = (snap.end_time_ms() != 0 ? snap.end_time_ms() : now_ms) - snap.start_time_ms();
  }
  head += "  elapsed: " + format_elapsed(job_ms);
  lines.push_back(head);
  lines.push_back(progress_bar(counts.done, counts.total) + " " + std::to_string(counts.done) +
                  "/" + std::to_string(counts.total) + " done  " + counts_text(counts));
  lines.push_back(pad("HOST", 8) + pad("ADDRESS", 28) + pad("STATUS", 20) + pad("EXIT", 6) +
                  "ELAPSED");
  int shown = 0;
  HostCounts hidden;
  for (const auto& step : snap.steps()) {
    for (const auto& h : step.hosts()) {
      if (shown >= max_rows) {
        ++hidden.total;
        ++hidden.by_status[api::host_status_name(h.status())];
        continue;
      }
      ++shown;
      bool final_status = api::host_status_final(h.status());
      lines.push_back(pad(h.host().host_id() ? std::to_string(h.host().host_id()) : "-", 8) +
                      pad(h.host().ip().empty() ? "-" : host_address(h.host()), 28) +
                      pad(api::host_status_name(h.status()), 20) +
                      pad(final_status ? std::to_string(h.exit_code()) : "", 6) +
                      format_elapsed(host_elapsed(h, now_ms)));
    }
  }
  if (hidden.total > 0) {
    lines.push_back("... " + std::to_string(hidden.total) + " more (" + counts_text(hidden) + ")");
  }
  return lines;
}

WatchRenderer::WatchRenderer(RendererOptions options, std::ostream& out, std::ostream& err)
    : options_(std::move(options)), out_(out), err_(err) {
  if (!options_.clock) options_.clock = [] { return std::chrono::steady_clock::now(); };
}

void WatchRenderer::on_event(const v1::StatusEvent& event, const JobState& state) {
  now_ms_ = std::max(now_ms_, event.observed_at_ms());
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
      plain_line(event, state);
      return;
    case RenderMode::kTable: {
      note_.clear();
      auto now = options_.clock();
      bool final_event = event.kind() == v1::EVENT_KIND_FINISHED;
      bool held =
          options_.final_table_only || (drawn_once_ && now - last_draw_ < options_.min_redraw);
      if (!final_event && held) {
        pending_ = true;
        return;
      }
      last_draw_ = now;
      draw_table(state);
      return;
    }
  }
}

void WatchRenderer::plain_line(const v1::StatusEvent& event, const JobState& state) {
  const auto& snap = state.snapshot();
  auto counts = state.counts();
  std::string done = "done=" + std::to_string(counts.done) + "/" + std::to_string(counts.total);
  std::string line = "seq=" + std::to_string(event.seq()) + " ";
  switch (event.kind()) {
    case v1::EVENT_KIND_SNAPSHOT:
      line += "snapshot job=" + std::to_string(snap.job_instance_id()) +
              " status=" + api::job_status_name(snap.status()) + " " + done;
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
    case v1::EVENT_KIND_STEP_CHANGED:
      line += "step " + std::to_string(event.step().step_instance_id()) + " " +
              api::job_status_name(event.step().old_status()) + " -> " +
              api::job_status_name(event.step().new_status());
      break;
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
  out_ << line << "\n" << std::flush;
}

void WatchRenderer::draw_table(const JobState& state) {
  auto lines = table_lines(state, options_.max_rows, now_ms_);
  if (!note_.empty()) lines.push_back(note_);
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
  pending_ = false;
  drawn_once_ = true;
}

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
  if (last_state_ != nullptr && last_state_->has_snapshot()) {
    draw_table(*last_state_);
  } else {
    pending_ = true;
  }
}

void WatchRenderer::finish(const JobState& state) {
  if (options_.mode == RenderMode::kTable && pending_ && state.has_snapshot()) draw_table(state);
}

}  // namespace jobgw::client
