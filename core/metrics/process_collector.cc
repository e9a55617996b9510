#include "core/metrics/process_collector.h"

#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

namespace jobgw::core {
namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return text;
}

template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> split_spaces(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
    std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n') ++i;
    if (i > start) fields.push_back(text.substr(start, i - start));
  }
  return fields;
}

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  f.metric.push_back(std::move(metric));
  return f;
}

std::optional<double> count_entries(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return std::nullopt;
  double count = 0;
  for (const std::filesystem::directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return std::nullopt;
    ++count;
  }
  if (ec) return std::nullopt;
  return count;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  const std::size_t paren = text.rfind(')');
  if (paren == std::string_view::npos) return std::nullopt;
  // Field 3 (state) is the first after the command name; field N is fields[N - 3].
  const auto fields = split_spaces(text.substr(paren + 1));
  if (fields.size() < 22) return std::nullopt;
  auto utime = parse_number<std::uint64_t>(fields[11]);
  auto stime = parse_number<std::uint64_t>(fields[12]);
  auto start = parse_number<std::uint64_t>(fields[19]);
  auto vsize = parse_number<std::uint64_t>(fields[20]);
  auto rss = parse_number<std::int64_t>(fields[21]);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  return ProcStat{*utime, *stime, *start, *vsize, *rss};
}

std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat) {
  std::size_t pos = 0;
  while (pos < proc_stat.size()) {
    std::size_t end = proc_stat.find('\n', pos);
    if (end == std::string_view::npos) end = proc_stat.size();
    const auto fields = split_spaces(proc_stat.substr(pos, end - pos));
    if (fields.size() == 2 && fields[0] == "btime") return parse_number<std::uint64_t>(fields[1]);
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_max_open_files(std::string_view limits) {
  constexpr std::string_view kName = "Max open files";
  std::size_t pos = 0;
  while (pos < limits.size()) {
    std::size_t end = limits.find('\n', pos);
    if (end == std::string_view::npos) end = limits.size();
    std::string_view line = limits.substr(pos, end - pos);
    if (line.substr(0, kName.size()) == kName) {
      // "Max open files            1024                 524288               files"
      const auto fields = split_spaces(line.substr(kName.size()));
      if (fields.empty()) return std::nullopt;
      return parse_number<std::uint64_t>(fields[0]);
    }
    pos = end + 1;
  }
  return std::nullopt;
}

ProcessCollector::ProcessCollector(std::string proc_self, std::string proc_stat)
    : proc_self_(std::move(proc_self)),
      proc_stat_(std::move(proc_stat)),
      ticks_per_second_(sysconf(_SC_CLK_TCK)),
      page_size_(sysconf(_SC_PAGESIZE)) {}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  const auto stat_text = read_file(proc_self_ + "/stat");
  const auto stat = stat_text ? parse_proc_stat(*stat_text) : std::nullopt;
  if (stat && ticks_per_second_ > 0) {
    const double ticks = static_cast<double>(ticks_per_second_);
    families.push_back(family(
        "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
        MetricType::Counter, static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks));
    const auto system_stat = read_file(proc_stat_);
    const auto boot = system_stat ? parse_boot_time(*system_stat) : std::nullopt;
    if (boot) {
      families.push_back(
          family("process_start_time_seconds",
                 "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
                 static_cast<double>(*boot) + static_cast<double>(stat->start_ticks) / ticks));
    }
  }
  if (stat) {
    families.push_back(family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                              MetricType::Gauge, static_cast<double>(stat->vsize_bytes)));
    if (page_size_ > 0) {
      families.push_back(family(
          "process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
          static_cast<double>(stat->rss_pages) * static_cast<double>(page_size_)));
    }
  }
  if (auto open = count_entries(proc_self_ + "/fd")) {
    families.push_back(
        family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, *open));
  }
  const auto limits_text = read_file(proc_self_ + "/limits");
  if (auto max = limits_text ? parse_max_open_files(*limits_text) : std::nullopt) {
    families.push_back(family("process_max_fds", "Maximum number of open file descriptors.",
                              MetricType::Gauge, static_cast<double>(*max)));
  }
  return families;
}

}  // namespace jobgw::core
