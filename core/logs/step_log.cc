#include "core/logs/step_log.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "core/logs/utf8.h"

namespace jobgw::core {
namespace {

// A transfer entry's identity within a host's log: the same file moving between the same
// places, whatever its progress.
bool same_transfer(const FileLog& a, const FileLog& b) {
  return a.mode == b.mode && a.src == b.src && a.src_path == b.src_path && a.dest == b.dest &&
         a.dest_path == b.dest_path;
}

bool same_progress(const FileLog& a, const FileLog& b) {
  return a.status == b.status && a.content == b.content && a.size == b.size && a.speed == b.speed &&
         a.progress == b.progress;
}

std::size_t entry_bytes(const FileLog& e) {
  return e.src.ip.size() + e.src_path.size() + e.dest.ip.size() + e.dest_path.size() +
         e.content.size() + e.size.size() + e.speed.size() + e.progress.size();
}

// Below 4 bytes a character could not fit in an event at all.
StepLogLimits with_room_for_a_character(StepLogLimits limits) {
  limits.max_event_bytes = std::max<std::size_t>(limits.max_event_bytes, 4);
  return limits;
}

}  // namespace

bool same_host(const Host& a, const Host& b) {
  if (a.host_id > 0 && b.host_id > 0) return a.host_id == b.host_id;
  return !a.ip.empty() && a.ip == b.ip && a.cloud_id == b.cloud_id;
}

StepLog::StepLog(std::int64_t step_instance_id, bool file_step, std::uint64_t seq_base,
                 StepLogLimits limits)
    : step_instance_id_(step_instance_id),
      file_step_(file_step),
      seq_base_(seq_base),
      limits_(with_room_for_a_character(limits)),
      last_seq_(seq_base) {}

StepLog::~StepLog() {
  if (limits_.held && held_ > 0) limits_.held->fetch_sub(held_);
}

std::size_t StepLog::shared_room() const {
  if (!limits_.held || limits_.max_held_bytes == 0) return SIZE_MAX;
  const std::size_t total = limits_.held->load();
  return total >= limits_.max_held_bytes ? 0 : limits_.max_held_bytes - total;
}

void StepLog::hold(std::size_t bytes) {
  if (!limits_.held || bytes == 0) return;
  limits_.held->fetch_add(bytes);
  held_ += bytes;
}

std::optional<std::size_t> StepLog::find_host(const Host& host) const {
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    if (same_host(hosts_[i].host, host)) return i;
  }
  return std::nullopt;
}

std::size_t StepLog::add_host(const Host& host) {
  if (auto found = find_host(host)) return *found;
  HostLog log;
  log.host = host;
  hosts_.push_back(std::move(log));
  return hosts_.size() - 1;
}

void StepLog::mark_text(HostLog& log, std::size_t end, bool truncated,
                        std::int64_t observed_at_ms) {
  // The cap's mark is sent even when it brings no byte: it tells the follower why the text
  // stops.
  if (log.marked == end && !truncated) return;
  do {
    std::size_t piece_end = end;
    if (end - log.marked > limits_.max_event_bytes) {
      std::string_view piece(log.held.data() + log.marked, limits_.max_event_bytes);
      std::size_t whole = complete_utf8_prefix(piece);
      piece_end = log.marked + (whole > 0 ? whole : piece.size());
    }
    Mark mark;
    mark.seq = ++last_seq_;
    mark.kind = LogEvent::Kind::kText;
    mark.begin = log.marked;
    mark.end = piece_end;
    mark.truncated = truncated && piece_end == end;
    mark.observed_at_ms = observed_at_ms;
    log.marks.push_back(std::move(mark));
    log.marked = piece_end;
  } while (log.marked < end);
}

void StepLog::add_text(std::size_t index, std::string_view content, std::int64_t observed_at_ms) {
  HostLog& log = hosts_[index];
  if (log.ended || log.truncated || content.size() <= log.held.size()) return;
  std::string_view fresh = content.substr(log.held.size());
  const std::size_t room = std::min(limits_.max_host_log_bytes - log.held.size(), shared_room());
  if (fresh.size() > room) {
    const std::size_t before = log.held.size();
    log.held.append(fresh.substr(0, room));
    // Cut back to a character boundary: the capped text stays valid UTF-8.
    const std::size_t end =
        log.marked + complete_utf8_prefix(std::string_view(log.held).substr(log.marked));
    log.held.resize(end);
    hold(end - before);
    log.truncated = true;
    mark_text(log, end, /*truncated=*/true, observed_at_ms);
    return;
  }
  log.held.append(fresh);
  hold(fresh.size());
  const std::size_t end =
      log.marked + complete_utf8_prefix(std::string_view(log.held).substr(log.marked));
  mark_text(log, end, /*truncated=*/false, observed_at_ms);
}

void StepLog::add_files(std::size_t index, const std::vector<FileLog>& entries,
                        std::int64_t observed_at_ms) {
  HostLog& log = hosts_[index];
  if (log.ended || log.truncated) return;
  std::vector<FileLog> changed;
  for (const FileLog& entry : entries) {
    auto known = std::find_if(log.files.begin(), log.files.end(),
                              [&entry](const FileLog& f) { return same_transfer(f, entry); });
    if (known == log.files.end()) {
      log.files.push_back(entry);
    } else if (!same_progress(*known, entry)) {
      *known = entry;
    } else {
      continue;
    }
    changed.push_back(entry);
  }
  if (changed.empty()) return;
  std::size_t added = 0;
  for (const FileLog& entry : changed) added += entry_bytes(entry);
  const bool over_shared = added > shared_room();
  log.file_bytes += added;
  hold(added);
  Mark mark;
  mark.seq = ++last_seq_;
  mark.kind = LogEvent::Kind::kFile;
  mark.entries = std::move(changed);
  mark.observed_at_ms = observed_at_ms;
  if (log.file_bytes > limits_.max_host_log_bytes || over_shared) {
    mark.truncated = true;
    log.truncated = true;
  }
  log.marks.push_back(std::move(mark));
}

void StepLog::end_host(std::size_t index, int status, int exit_code, std::int64_t observed_at_ms) {
  HostLog& log = hosts_[index];
  if (log.ended) return;
  // The log is complete: a trailing partial character is all the host will ever write of it.
  if (!log.truncated) mark_text(log, log.held.size(), /*truncated=*/false, observed_at_ms);
  Mark mark;
  mark.seq = ++last_seq_;
  mark.kind = LogEvent::Kind::kHostEnd;
  mark.status = status;
  mark.exit_code = exit_code;
  mark.observed_at_ms = observed_at_ms;
  log.marks.push_back(std::move(mark));
  log.ended = true;
}

StepLog::Cursor StepLog::cursor(std::vector<std::size_t> hosts,
                                std::optional<std::uint64_t> after_seq) const {
  Cursor cursor;
  cursor.hosts = std::move(hosts);
  cursor.next.assign(cursor.hosts.size(), 0);
  if (!after_seq || !knows(*after_seq)) return cursor;
  cursor.resumed = true;
  for (std::size_t k = 0; k < cursor.hosts.size(); ++k) {
    const auto& marks = hosts_[cursor.hosts[k]].marks;
    auto after =
        std::upper_bound(marks.begin(), marks.end(), *after_seq,
                         [](std::uint64_t seq, const Mark& mark) { return seq < mark.seq; });
    cursor.next[k] = static_cast<std::size_t>(after - marks.begin());
  }
  return cursor;
}

std::optional<LogEvent> StepLog::next(Cursor* cursor) const {
  constexpr std::uint64_t kNone = std::numeric_limits<std::uint64_t>::max();
  std::size_t first = cursor->hosts.size();
  std::uint64_t first_seq = kNone;
  // The smallest pending seq among the other hosts: a merge must stay below it.
  std::uint64_t others_seq = kNone;
  for (std::size_t k = 0; k < cursor->hosts.size(); ++k) {
    const auto& marks = hosts_[cursor->hosts[k]].marks;
    if (cursor->next[k] >= marks.size()) continue;
    const std::uint64_t seq = marks[cursor->next[k]].seq;
    if (seq < first_seq) {
      others_seq = first_seq;
      first_seq = seq;
      first = k;
    } else if (seq < others_seq) {
      others_seq = seq;
    }
  }
  if (first == cursor->hosts.size()) return std::nullopt;

  const HostLog& log = hosts_[cursor->hosts[first]];
  std::size_t at = cursor->next[first];
  const Mark& mark = log.marks[at];
  LogEvent event;
  event.kind = mark.kind;
  event.host = log.host;
  event.step_instance_id = step_instance_id_;
  event.resumed = cursor->resumed;
  if (mark.kind == LogEvent::Kind::kText) {
    std::size_t end = mark.end;
    const Mark* last = &mark;
    // Later TEXT marks of this host join the event while no other host has anything older
    // pending: then no seq is skipped over and the event's seq still marks a clean cut.
    while (at + 1 < log.marks.size()) {
      const Mark& more = log.marks[at + 1];
      if (more.kind != LogEvent::Kind::kText || more.seq >= others_seq ||
          more.end - mark.begin > limits_.max_event_bytes) {
        break;
      }
      end = more.end;
      last = &more;
      ++at;
    }
    event.seq = last->seq;
    event.offset = static_cast<std::int64_t>(mark.begin);
    event.text = log.held.substr(mark.begin, end - mark.begin);
    event.truncated = last->truncated;
    event.observed_at_ms = last->observed_at_ms;
  } else {
    event.seq = mark.seq;
    event.file_entries = mark.entries;
    event.status = mark.status;
    event.exit_code = mark.exit_code;
    event.truncated = mark.truncated;
    event.observed_at_ms = mark.observed_at_ms;
  }
  cursor->next[first] = at + 1;
  return event;
}

bool StepLog::done(const Cursor& cursor) const {
  for (std::size_t k = 0; k < cursor.hosts.size(); ++k) {
    const HostLog& log = hosts_[cursor.hosts[k]];
    if (!log.ended || cursor.next[k] < log.marks.size()) return false;
  }
  return true;
}

}  // namespace jobgw::core
