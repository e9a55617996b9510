// The process_* metrics, read from this test process's own /proc and checked against what the
// kernel reports through other interfaces (getrusage, getrlimit, open files).
#include "core/metrics/process_collector.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace jobgw::core {
namespace {

std::map<std::string, double> collect(const ProcessCollector& collector) {
  std::map<std::string, double> values;
  for (const auto& family : collector.Collect()) {
    EXPECT_EQ(family.metric.size(), 1u) << family.name;
    if (family.metric.empty()) continue;
    const auto& metric = family.metric.front();
    values[family.name] =
        family.type == prometheus::MetricType::Counter ? metric.counter.value : metric.gauge.value;
  }
  return values;
}

double rusage_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

TEST(ProcessCollectorTest, ReportsEveryFamilyWithItsType) {
  ProcessCollector collector;
  std::map<std::string, prometheus::MetricType> types;
  for (const auto& family : collector.Collect()) types[family.name] = family.type;
  EXPECT_EQ(types, (std::map<std::string, prometheus::MetricType>{
                       {"process_cpu_seconds_total", prometheus::MetricType::Counter},
                       {"process_max_fds", prometheus::MetricType::Gauge},
                       {"process_open_fds", prometheus::MetricType::Gauge},
                       {"process_resident_memory_bytes", prometheus::MetricType::Gauge},
                       {"process_start_time_seconds", prometheus::MetricType::Gauge},
                       {"process_virtual_memory_bytes", prometheus::MetricType::Gauge}}));
}

TEST(ProcessCollectorTest, CpuSecondsAgreeWithGetrusage) {
  ProcessCollector collector;
  // Burn CPU until the kernel has accounted at least a few clock ticks.
  const double before = rusage_cpu_seconds();
  volatile std::uint64_t sink = 0;
  while (rusage_cpu_seconds() - before < 0.05) {
    for (int i = 0; i < 100000; ++i) sink = sink + static_cast<std::uint64_t>(i) * 7;
  }
  const double low = rusage_cpu_seconds();
  const double reported = collect(collector)["process_cpu_seconds_total"];
  const double high = rusage_cpu_seconds();
  // /proc counts whole clock ticks (1/sysconf(_SC_CLK_TCK) s); getrusage is finer.
  const double tick = 1.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
  EXPECT_GE(reported, low - 2 * tick);
  EXPECT_LE(reported, high + 2 * tick);
  EXPECT_GT(reported, 0);
}

TEST(ProcessCollectorTest, MaxFdsIsTheSoftOpenFileLimit) {
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  ASSERT_NE(limit.rlim_cur, RLIM_INFINITY);
  ProcessCollector collector;
  EXPECT_EQ(collect(collector)["process_max_fds"], static_cast<double>(limit.rlim_cur));
}

TEST(ProcessCollectorTest, OpenFdsCountsFilesOpenedAndClosed) {
  ProcessCollector collector;
  const double before = collect(collector)["process_open_fds"];
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    fds.push_back(fd);
  }
  EXPECT_EQ(collect(collector)["process_open_fds"], before + 5);
  for (int fd : fds) close(fd);
  EXPECT_EQ(collect(collector)["process_open_fds"], before);
  EXPECT_GT(before, 2);  // stdin, stdout, stderr at least
}

TEST(ProcessCollectorTest, ResidentMemoryGrowsWithTouchedPages) {
  ProcessCollector collector;
  const double before = collect(collector)["process_resident_memory_bytes"];
  constexpr std::size_t kBytes = 64 << 20;
  auto block = std::make_unique<char[]>(kBytes);
  std::memset(block.get(), 1, kBytes);  // touch every page so it is resident
  const auto after = collect(collector);
  EXPECT_GE(after.at("process_resident_memory_bytes"), before + kBytes / 2);
  EXPECT_GE(after.at("process_virtual_memory_bytes"), after.at("process_resident_memory_bytes"));
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  // ru_maxrss is the peak in KiB: the current size never exceeds it.
  EXPECT_LE(after.at("process_resident_memory_bytes"), usage.ru_maxrss * 1024.0);
  volatile char keep = block[kBytes - 1];
  (void)keep;
}

TEST(ProcessCollectorTest, StartTimeIsWhenThisProcessStarted) {
  ProcessCollector collector;
  const double start = collect(collector)["process_start_time_seconds"];
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(start, now + 1);
  // A child started now has a later start time than this process (ticks since boot).
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    char c;
    (void)!read(pipe_fds[0], &c, 1);
    _exit(0);
  }
  ProcessCollector of_child("/proc/" + std::to_string(child));
  const double child_start = collect(of_child)["process_start_time_seconds"];
  (void)!write(pipe_fds[1], "x", 1);
  int status = 0;
  waitpid(child, &status, 0);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  EXPECT_GE(child_start, start);
  EXPECT_GT(start, 1e9);  // after 2001: the boot time was found
}

TEST(ProcessCollectorTest, ParsesStatWhoseCommandHoldsSpacesAndParentheses) {
  const std::string stat =
      "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 12345 "
      "104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto parsed = parse_proc_stat(stat);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->utime_ticks, 250u);
  EXPECT_EQ(parsed->stime_ticks, 50u);
  EXPECT_EQ(parsed->start_ticks, 12345u);
  EXPECT_EQ(parsed->vsize_bytes, 104857600u);
  EXPECT_EQ(parsed->rss_pages, 2560);
}

TEST(ProcessCollectorTest, MalformedProcTextGivesNothing) {
  EXPECT_FALSE(parse_proc_stat("").has_value());
  EXPECT_FALSE(parse_proc_stat("12 (cmd) S 1 2 3").has_value());
  EXPECT_FALSE(parse_proc_stat("12 cmd S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22")
                   .has_value());
  EXPECT_FALSE(parse_proc_stat("1 (c) S 1 1 1 0 -1 0 0 0 0 0 x 5 0 0 20 0 1 0 9 9 9").has_value());
  EXPECT_FALSE(parse_boot_time("cpu 1 2 3\nbtime\n").has_value());
  EXPECT_FALSE(parse_boot_time("btime -5\n").has_value());
  EXPECT_EQ(parse_boot_time("cpu 1 2 3\nbtime 1700000000\nprocesses 9\n"), 1700000000u);
  EXPECT_EQ(
      parse_max_open_files("Limit Soft Hard Units\n"
                           "Max open files            1024                 524288    files\n"),
      1024u);
  EXPECT_FALSE(
      parse_max_open_files("Max open files            unlimited            unlimited    files\n")
          .has_value());
  EXPECT_FALSE(parse_max_open_files("Max processes 10 10 processes\n").has_value());
}

TEST(ProcessCollectorTest, AMissingProcDirectoryReportsNothing) {
  ProcessCollector collector("/proc/does-not-exist", "/proc/does-not-exist/stat");
  EXPECT_TRUE(collector.Collect().empty());
}

}  // namespace
}  // namespace jobgw::core
