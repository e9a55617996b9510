#pragma once

#include <map>
#include <string>
#include <vector>

#include "jobgw/v1/job_gateway.pb.h"

namespace jobgw::client {

// Each host's file movements of a transfer step as FollowLogs reports them (FILE events), for
// the live table's PROGRESS column. Entries are kept by what they move (mode, source, paths):
// a later FILE event of the same movement replaces it.
class TransferProgress {
 public:
  // Takes the FILE entries of `event`; other kinds are ignored.
  void apply(const v1::LogEvent& event);
  // A stream that restarted from the beginning sends every entry again.
  void clear() { hosts_.clear(); }
  bool empty() const { return hosts_.empty(); }

  // "45% 1 KB/s" for a host moving one file; "1/3 files 45% 1 KB/s" with several (the count of
  // finished ones, then the movement reported last that has not finished); "" when none known.
  std::string text(const v1::Host& host) const;

 private:
  struct Movement {
    v1::FileLog entry;
    std::uint64_t order = 0;  // when it was last reported, growing
  };
  struct HostMovements {
    std::map<std::string, Movement> downloads;
    std::map<std::string, Movement> uploads;
  };
  const HostMovements* find(const v1::Host& host) const;
  static std::string describe(const std::map<std::string, Movement>& movements);

  // Keyed by host id when JOB named one, else by cloud:IP, so rows find theirs either way.
  std::map<std::string, HostMovements> hosts_;
  std::uint64_t reports_ = 0;
};

}  // namespace jobgw::client
