#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobgw::core {

// The fields of /proc/<pid>/stat that the process metrics need. Returns nothing when the text
// is not in that shape (fields are counted after the last ')', since the command name may
// hold spaces and parentheses).
struct ProcStat {
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  std::uint64_t start_ticks = 0;  // since boot
  std::uint64_t vsize_bytes = 0;
  std::int64_t rss_pages = 0;
};
std::optional<ProcStat> parse_proc_stat(std::string_view text);
// "btime" of /proc/stat: boot time, seconds since the Unix epoch.
std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat);
// The soft limit on the "Max open files" line of /proc/<pid>/limits ("unlimited" reads as
// nothing, like a missing line).
std::optional<std::uint64_t> parse_max_open_files(std::string_view limits);

// The process_* families every Prometheus client library exports (prometheus-cpp 1.0.1 has
// none): process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_start_time_seconds, process_open_fds, process_max_fds. Read from procfs at every
// scrape; a value procfs does not give is left out rather than reported as 0.
class ProcessCollector : public prometheus::Collectable {
 public:
  // `proc_self`: the procfs directory of the process to report on; `proc_stat`: the system's
  // /proc/stat, for the boot time.
  explicit ProcessCollector(std::string proc_self = "/proc/self",
                            std::string proc_stat = "/proc/stat");

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::string proc_self_;
  std::string proc_stat_;
  long ticks_per_second_;
  long page_size_;
};

}  // namespace jobgw::core
