// How a FollowLogs stream's FILE entries are printed: once each, without JOB's text repeating the
// entry's own fields.
#include <gtest/gtest.h>

#include <sstream>

#include "client/log_printer.h"

namespace jobgw::client {
namespace {

v1::FileLog download(const std::string& src_ip, v1::FileLogStatus status,
                     const std::string& progress) {
  v1::FileLog e;
  e.set_mode(v1::FILE_LOG_MODE_DOWNLOAD);
  e.mutable_src_host()->set_cloud_id(0);
  e.mutable_src_host()->set_ip(src_ip);
  e.set_src_path("/data/a.log");
  e.set_dest_path("/tmp/in/a.log");
  e.set_status(status);
  e.set_progress(progress);
  e.set_size("2.0 MB");
  e.set_speed("1024 KB/s");
  const std::string state =
      status == v1::FILE_LOG_STATUS_SUCCESS ? "download success" : "downloading";
  e.set_content("FileName: /tmp/in/a.log FileSize: 2.0 MB State: " + state +
                " Speed: 1024 KB/s Progress: " + progress + " StatusDesc: " + state);
  return e;
}

v1::LogEvent file_event(std::uint64_t seq, std::int64_t host_id,
                        const std::vector<v1::FileLog>& entries) {
  v1::LogEvent e;
  e.set_seq(seq);
  e.set_kind(v1::LOG_EVENT_KIND_FILE);
  e.mutable_host()->set_host_id(host_id);
  for (const auto& entry : entries) *e.add_file_entries() = entry;
  return e;
}

v1::LogEvent host_end(std::uint64_t seq, std::int64_t host_id, v1::HostStatus status) {
  v1::LogEvent e;
  e.set_seq(seq);
  e.set_kind(v1::LOG_EVENT_KIND_HOST_END);
  e.mutable_host()->set_host_id(host_id);
  e.set_status(status);
  return e;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

TEST(FileLogText, LeavesOutWhatJobsTextRepeats) {
  EXPECT_EQ(file_log_text(download("192.0.2.1", v1::FILE_LOG_STATUS_SUCCESS, "100%")),
            "download 0:192.0.2.1:/data/a.log -> /tmp/in/a.log success 100% 2.0 MB 1024 KB/s");
}

TEST(FileLogText, KeepsADescriptionThatSaysMore) {
  auto e = download("192.0.2.1", v1::FILE_LOG_STATUS_FAILED, "0%");
  e.set_content("FileName: /data/a.log StatusDesc: source file not found on host 0:192.0.2.1");
  EXPECT_EQ(file_log_text(e),
            "download 0:192.0.2.1:/data/a.log -> /tmp/in/a.log failed 0% 2.0 MB 1024 KB/s: source "
            "file not found on host 0:192.0.2.1");
  // Text in another shape is kept as it is.
  e.set_content("agent offline");
  EXPECT_NE(file_log_text(e).find(": agent offline"), std::string::npos) << file_log_text(e);
}

TEST(LogPrinterFiles, EachEntryOnceWhenItEnds) {
  std::ostringstream out, err;
  LogPrinter printer({.prefix_hosts = false, .json = false}, out, err);
  printer.on_event(
      file_event(1, 101, {download("192.0.2.1", v1::FILE_LOG_STATUS_DOWNLOADING, "2%")}));
  printer.on_event(
      file_event(2, 101, {download("192.0.2.1", v1::FILE_LOG_STATUS_DOWNLOADING, "40%")}));
  EXPECT_EQ(out.str(), "");  // still running: its end is what gets printed
  printer.on_event(file_event(3, 101,
                              {download("192.0.2.1", v1::FILE_LOG_STATUS_SUCCESS, "100%"),
                               download("192.0.2.2", v1::FILE_LOG_STATUS_DOWNLOADING, "5%")}));
  // Sent again unchanged (a replay): not printed twice.
  printer.on_event(
      file_event(4, 101, {download("192.0.2.1", v1::FILE_LOG_STATUS_SUCCESS, "100%")}));
  printer.on_event(
      file_event(5, 101, {download("192.0.2.2", v1::FILE_LOG_STATUS_SUCCESS, "100%")}));
  printer.on_event(host_end(6, 101, v1::HOST_STATUS_SUCCESS));
  printer.finish();
  EXPECT_EQ(out.str(),
            "download 0:192.0.2.1:/data/a.log -> /tmp/in/a.log success 100% 2.0 MB 1024 KB/s\n"
            "download 0:192.0.2.2:/data/a.log -> /tmp/in/a.log success 100% 2.0 MB 1024 KB/s\n"
            "[#101] ended: success exit 0\n");
}

TEST(LogPrinterFiles, AnEntryThatNeverEndedIsPrintedAsItLastWasWhenItsHostEnds) {
  std::ostringstream out, err;
  LogPrinter printer({.prefix_hosts = true, .json = false}, out, err);
  printer.on_event(
      file_event(1, 101, {download("192.0.2.1", v1::FILE_LOG_STATUS_DOWNLOADING, "2%")}));
  printer.on_event(
      file_event(2, 102, {download("192.0.2.1", v1::FILE_LOG_STATUS_DOWNLOADING, "3%")}));
  printer.on_event(
      file_event(3, 101, {download("192.0.2.1", v1::FILE_LOG_STATUS_DOWNLOADING, "60%")}));
  printer.on_event(host_end(4, 101, v1::HOST_STATUS_TERMINATED));
  EXPECT_EQ(count(out.str(), "downloading"), 1u) << out.str();
  EXPECT_NE(out.str().find("[#101] download 0:192.0.2.1:/data/a.log -> /tmp/in/a.log downloading "
                           "60%"),
            std::string::npos)
      << out.str();
  EXPECT_LT(out.str().find("downloading 60%"), out.str().find("[#101] ended:")) << out.str();
  // 102's stream ends without its HOST_END (cancelled): its entry still shows once.
  printer.finish();
  EXPECT_EQ(count(out.str(), "[#102] download"), 1u) << out.str();
  EXPECT_NE(out.str().find("downloading 3%"), std::string::npos) << out.str();
}

TEST(LogPrinterFiles, JsonPrintsEveryEventAsItCame) {
  std::ostringstream out, err;
  LogPrinter printer({.prefix_hosts = true, .json = true}, out, err);
  printer.on_event(
      file_event(1, 101, {download("192.0.2.1", v1::FILE_LOG_STATUS_DOWNLOADING, "2%")}));
  printer.on_event(
      file_event(2, 101, {download("192.0.2.1", v1::FILE_LOG_STATUS_SUCCESS, "100%")}));
  printer.finish();
  EXPECT_EQ(count(out.str(), "\n"), 2u) << out.str();
}

}  // namespace
}  // namespace jobgw::client
