#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/targets.h"
#include "core/job/ip_logs.h"
#include "core/logs/log_event.h"

namespace jobgw::core {

struct StepLogLimits {
  // Bytes of one host's log held (script steps) or of its file entries kept (file steps).
  std::size_t max_host_log_bytes = 8 << 20;
  // Text of one event at most, so an event always fits in a gRPC message however much a host
  // wrote between two reads (or before a late follower came).
  std::size_t max_event_bytes = 1 << 20;
  // Bytes every StepLog sharing `held` may hold together (0: no such cap). A host that would
  // take them past it is capped like one past max_host_log_bytes. Checked without a common
  // lock, so steps read at the same moment may pass it by one read each.
  std::size_t max_held_bytes = 0;
  std::shared_ptr<std::atomic<std::size_t>> held;
};

// What one step's hosts logged so far, as numbered marks, and the cursors followers read it
// with. No threads or timers: the hub guards it and decides when to read.
//
// Every read that brings something new appends marks (TEXT: a range of the held bytes; FILE:
// the changed entries; HOST_END last), each with the next seq of the step. A follower is a
// Cursor, not a queue: it takes the pending mark with the smallest seq among its hosts, so the
// seqs it delivers only grow and "resume after S" is exact, however late or slow it is.
class StepLog {
 public:
  // A follower's position: for each followed host (an index of this log), the next mark to
  // deliver.
  struct Cursor {
    std::vector<std::size_t> hosts;
    std::vector<std::size_t> next;
    bool resumed = false;
  };

  StepLog(std::int64_t step_instance_id, bool file_step, std::uint64_t seq_base,
          StepLogLimits limits);
  // Gives what it held back to the shared count.
  ~StepLog();
  StepLog(const StepLog&) = delete;
  StepLog& operator=(const StepLog&) = delete;

  std::int64_t step_instance_id() const { return step_instance_id_; }
  bool file_step() const { return file_step_; }
  std::uint64_t seq_base() const { return seq_base_; }
  std::uint64_t last_seq() const { return last_seq_; }
  // Whether `seq` is one this log gave out: a resume point rather than a stranger's (another
  // step's, an older state's of this step) or a future one.
  bool knows(std::uint64_t seq) const { return seq > seq_base_ && seq <= last_seq_; }

  // The host's index, adding it when new. Hosts match by host id when both have one, else by
  // cloud id + IP.
  std::size_t add_host(const Host& host);
  std::optional<std::size_t> find_host(const Host& host) const;
  std::size_t host_count() const { return hosts_.size(); }
  const Host& host(std::size_t index) const { return hosts_[index].host; }
  bool ended(std::size_t index) const { return hosts_[index].ended; }
  // Past the cap: reading the host again can bring nothing but its end.
  bool capped(std::size_t index) const { return hosts_[index].truncated; }
  std::size_t held_bytes(std::size_t index) const { return hosts_[index].held.size(); }

  // A script host's whole log so far, as JOB answered it: the bytes beyond those held become
  // TEXT marks, cut before an unfinished UTF-8 character (it waits for the next read).
  void add_text(std::size_t index, std::string_view content, std::int64_t observed_at_ms);
  // A file host's entries as JOB answered them: those new or changed since the last FILE mark
  // become one.
  void add_files(std::size_t index, const std::vector<FileLog>& entries,
                 std::int64_t observed_at_ms);
  // The host's log is complete: what was held back is flushed, then its HOST_END. Once only.
  void end_host(std::size_t index, int status, int exit_code, std::int64_t observed_at_ms);

  // A cursor over `hosts` (indices). With an after_seq this log knows, it starts right after
  // it (resumed); otherwise from the start.
  Cursor cursor(std::vector<std::size_t> hosts, std::optional<std::uint64_t> after_seq) const;
  // The cursor's next event, advancing it; nothing when it has delivered every mark so far.
  std::optional<LogEvent> next(Cursor* cursor) const;
  // Every host of the cursor ended and its HOST_END was delivered.
  bool done(const Cursor& cursor) const;

 private:
  struct Mark {
    std::uint64_t seq = 0;
    LogEvent::Kind kind = LogEvent::Kind::kText;
    std::size_t begin = 0;  // kText: [begin, end) of the held bytes
    std::size_t end = 0;
    std::vector<FileLog> entries;
    int status = 0;
    int exit_code = 0;
    bool truncated = false;
    std::int64_t observed_at_ms = 0;
  };
  struct HostLog {
    Host host;
    std::string held;
    // Held bytes already in marks; the rest is an unfinished character.
    std::size_t marked = 0;
    std::vector<Mark> marks;
    // File steps: each entry as last marked, and their bytes (what the cap counts).
    std::vector<FileLog> files;
    std::size_t file_bytes = 0;
    bool truncated = false;
    bool ended = false;
  };

  void mark_text(HostLog& log, std::size_t end, bool truncated, std::int64_t observed_at_ms);
  // How many more bytes the shared cap lets this log hold (SIZE_MAX without one), and taking or
  // giving back some of them.
  std::size_t shared_room() const;
  void hold(std::size_t bytes);

  const std::int64_t step_instance_id_;
  const bool file_step_;
  const std::uint64_t seq_base_;
  const StepLogLimits limits_;
  std::uint64_t last_seq_;
  std::vector<HostLog> hosts_;
  std::size_t held_ = 0;  // what this log counts in limits_.held
};

// Whether two names of a host are the same host: by host id when both have one, else by cloud
// id + IP.
bool same_host(const Host& a, const Host& b);

}  // namespace jobgw::core
