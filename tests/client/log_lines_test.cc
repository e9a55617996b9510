// The partial-line buffer behind `jobctl logs -f` and `exec --watch --logs`, and the printer that
// turns FollowLogs events into output through it.
#include "client/log_lines.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "client/log_printer.h"

namespace jobgw::client {
namespace {

TEST(LogLines, PrefixedLinesNeverMixTwoHostsWhateverTheChunks) {
  LogLines lines(true);
  std::string out;
  out += lines.add("a", "one\ntw");
  out += lines.add("b", "x");
  out += lines.add("a", "o\nthr");
  out += lines.add("b", "y\n");
  out += lines.add("a", "ee\n");
  EXPECT_EQ(out, "[a] one\n[a] two\n[b] xy\n[a] three\n");
}

TEST(LogLines, APartialLineWaitsForItsNewline) {
  LogLines lines(true);
  EXPECT_EQ(lines.add("a", "no newline yet"), "");
  EXPECT_EQ(lines.add("a", ""), "");
  EXPECT_EQ(lines.add("a", ", still none"), "");
  EXPECT_EQ(lines.add("a", "\n"), "[a] no newline yet, still none\n");
}

TEST(LogLines, TheHostsEndCompletesItsPartialLine) {
  LogLines lines(true);
  EXPECT_EQ(lines.add("a", "done\nlast"), "[a] done\n");
  EXPECT_EQ(lines.end_host("a"), "[a] last\n");
  EXPECT_EQ(lines.end_host("a"), "");  // nothing held any more
  EXPECT_EQ(lines.end_host("b"), "");  // never wrote
}

TEST(LogLines, EmptyLinesKeepTheirPrefix) {
  LogLines lines(true);
  EXPECT_EQ(lines.add("a", "\n\nx\n"), "[a] \n[a] \n[a] x\n");
}

TEST(LogLines, HostLineEndsNothingHeldWhenPrefixed) {
  LogLines lines(true);
  EXPECT_EQ(lines.add("a", "half"), "");
  // A prefixed own line cannot land mid-line: held text is not printed yet.
  EXPECT_EQ(lines.host_line("a", "ended: success exit 0"), "[a] ended: success exit 0\n");
  EXPECT_EQ(lines.end_host("a"), "[a] half\n");
}

TEST(LogLines, RestartDropsHeldPartialLines) {
  LogLines lines(true);
  EXPECT_EQ(lines.add("a", "line\npart"), "[a] line\n");
  EXPECT_EQ(lines.add("b", "other"), "");
  EXPECT_EQ(lines.restart(), "");
  // The log comes again from its beginning; the old partial line must not be glued to it.
  EXPECT_EQ(lines.add("a", "line\npartial\n"), "[a] line\n[a] partial\n");
  EXPECT_EQ(lines.flush(), "");
}

TEST(LogLines, FlushEndsEveryHeldLine) {
  LogLines lines(true);
  lines.add("b", "bee");
  lines.add("a", "ay");
  EXPECT_EQ(lines.flush(), "[a] ay\n[b] bee\n");
  EXPECT_EQ(lines.flush(), "");
}

TEST(LogLines, UnprefixedTextPassesThroughAsItComes) {
  LogLines lines(false);
  EXPECT_EQ(lines.add("a", "par"), "par");
  EXPECT_EQ(lines.add("a", "tial\nnext"), "tial\nnext");
  // jobctl's own line starts on a line of its own.
  EXPECT_EQ(lines.host_line("a", "ended: success exit 0"), "\n[a] ended: success exit 0\n");
  EXPECT_EQ(lines.break_line(), "");
}

TEST(LogLines, UnprefixedBreaksOnlyAnOpenLine) {
  LogLines lines(false);
  EXPECT_EQ(lines.break_line(), "");
  EXPECT_EQ(lines.add("a", "whole\n"), "whole\n");
  EXPECT_EQ(lines.end_host("a"), "");
  EXPECT_EQ(lines.add("a", "open"), "open");
  EXPECT_EQ(lines.restart(), "\n");
  EXPECT_EQ(lines.add("a", "open"), "open");
  EXPECT_EQ(lines.end_host("a"), "\n");
  EXPECT_EQ(lines.flush(), "");
}

v1::LogEvent text_event(std::uint64_t seq, std::int64_t host_id, const std::string& text) {
  v1::LogEvent e;
  e.set_seq(seq);
  e.set_kind(v1::LOG_EVENT_KIND_TEXT);
  e.mutable_host()->set_host_id(host_id);
  e.mutable_host()->set_ip("192.0.2." + std::to_string(host_id - 100));
  e.set_text(text);
  return e;
}

v1::LogEvent end_event(std::uint64_t seq, std::int64_t host_id, v1::HostStatus status,
                       int exit_code) {
  v1::LogEvent e = text_event(seq, host_id, "");
  e.set_kind(v1::LOG_EVENT_KIND_HOST_END);
  e.set_status(status);
  e.set_exit_code(exit_code);
  return e;
}

struct Printed {
  std::ostringstream out, err;
};

TEST(LogPrinter, SeveralHostsArePrefixedAndTheirEndsReported) {
  Printed p;
  LogPrinter printer({true, false}, p.out, p.err);
  printer.on_event(text_event(1, 101, "a\nb"));
  printer.on_event(text_event(2, 102, "x\n"));
  printer.on_event(end_event(3, 101, v1::HOST_STATUS_SUCCESS, 0));
  EXPECT_FALSE(printer.every_host_ended());
  printer.on_event(end_event(4, 102, v1::HOST_STATUS_NONZERO_EXIT_CODE, 3));
  printer.finish();
  EXPECT_EQ(p.out.str(),
            "[101 0:192.0.2.1] a\n"
            "[102 0:192.0.2.2] x\n"
            "[101 0:192.0.2.1] b\n"
            "[101 0:192.0.2.1] ended: success exit 0\n"
            "[102 0:192.0.2.2] ended: nonzero_exit_code exit 3\n");
  EXPECT_EQ(p.err.str(), "");
  EXPECT_TRUE(printer.every_host_ended());
  EXPECT_EQ(printer.hosts_ended(), 2u);
  EXPECT_FALSE(printer.all_hosts_succeeded());
}

TEST(LogPrinter, OneHostsTextIsPrintedAsItArrives) {
  Printed p;
  LogPrinter printer({false, false}, p.out, p.err);
  printer.on_event(text_event(1, 101, "progress 10%"));
  EXPECT_EQ(p.out.str(), "progress 10%");  // not held back for a newline
  printer.on_event(text_event(2, 101, " 20%"));
  printer.on_event(end_event(3, 101, v1::HOST_STATUS_SUCCESS, 0));
  EXPECT_EQ(p.out.str(), "progress 10% 20%\n[101 0:192.0.2.1] ended: success exit 0\n");
  EXPECT_TRUE(printer.all_hosts_succeeded());
}

TEST(LogPrinter, NoHostEndedIsNoSuccess) {
  Printed p;
  LogPrinter printer({false, false}, p.out, p.err);
  EXPECT_FALSE(printer.all_hosts_succeeded());
  printer.on_event(text_event(1, 101, "x\n"));
  EXPECT_FALSE(printer.every_host_ended());
  EXPECT_FALSE(printer.all_hosts_succeeded());
}

TEST(LogPrinter, FileEntriesOneLineEach) {
  Printed p;
  LogPrinter printer({true, false}, p.out, p.err);
  v1::LogEvent e = text_event(1, 104, "");
  e.set_kind(v1::LOG_EVENT_KIND_FILE);
  auto* down = e.add_file_entries();
  down->set_mode(v1::FILE_LOG_MODE_DOWNLOAD);
  down->mutable_src_host()->set_ip("192.0.2.1");
  down->set_src_path("/data/a.log");
  down->set_dest_path("/tmp/in/a.log");
  down->set_status(v1::FILE_LOG_STATUS_DOWNLOADING);
  down->set_progress("40%");
  auto* up = e.add_file_entries();
  up->set_mode(v1::FILE_LOG_MODE_UPLOAD);
  up->set_src_path("/data/b.log");
  up->set_status(v1::FILE_LOG_STATUS_SUCCESS);
  up->set_progress("100%");
  up->set_content("done\n");
  printer.on_event(e);
  // A running entry waits for its end (or the stream's): each entry is printed once.
  EXPECT_EQ(p.out.str(), "[104 0:192.0.2.4] upload /data/b.log success 100%: done\n");
  printer.finish();
  EXPECT_EQ(
      p.out.str(),
      "[104 0:192.0.2.4] upload /data/b.log success 100%: done\n"
      "[104 0:192.0.2.4] download 0:192.0.2.1:/data/a.log -> /tmp/in/a.log downloading 40%\n");
}

TEST(LogPrinter, TruncatedTextEndsTheLineAndSaysSo) {
  Printed p;
  LogPrinter printer({true, false}, p.out, p.err);
  auto e = text_event(1, 101, "full\ncut he");
  e.set_truncated(true);
  printer.on_event(e);
  printer.on_event(end_event(2, 101, v1::HOST_STATUS_SUCCESS, 0));
  const std::string out = p.out.str();
  EXPECT_EQ(out.rfind("[101 0:192.0.2.1] full\n[101 0:192.0.2.1] cut he\n[101 0:192.0.2.1] (log "
                      "too large",
                      0),
            0u)
      << out;
  EXPECT_NE(out.find("\n[101 0:192.0.2.1] ended: success exit 0\n"), std::string::npos) << out;
}

TEST(LogPrinter, ARestartAfterReconnectIsNotedAndDropsHeldLines) {
  Printed p;
  LogPrinter printer({true, false}, p.out, p.err);
  printer.on_event(text_event(1, 101, "a\npar"));
  printer.on_event(end_event(2, 102, v1::HOST_STATUS_FAILED, 1));
  printer.on_reconnect(grpc::Status(grpc::StatusCode::UNAVAILABLE, "restarting"),
                       std::chrono::milliseconds(200), 1);
  EXPECT_NE(p.err.str().find("jobctl: logs: reconnecting (attempt 1, in 200ms): stream ended "
                             "UNAVAILABLE: restarting"),
            std::string::npos)
      << p.err.str();
  // jobgw lost the stream: everything comes again, resumed=false.
  printer.on_event(text_event(1, 101, "a\npartial\n"));
  printer.on_event(end_event(2, 101, v1::HOST_STATUS_SUCCESS, 0));
  EXPECT_NE(p.err.str().find("output restarts from the beginning"), std::string::npos);
  EXPECT_EQ(p.out.str(),
            "[101 0:192.0.2.1] a\n"
            "[102 0:192.0.2.2] ended: failed exit 1\n"
            "[101 0:192.0.2.1] a\n"
            "[101 0:192.0.2.1] partial\n"
            "[101 0:192.0.2.1] ended: success exit 0\n");
  // Only what the restarted stream reported counts: 102's failure came before the restart.
  EXPECT_EQ(printer.hosts_ended(), 1u);
  EXPECT_TRUE(printer.all_hosts_succeeded());
}

TEST(LogPrinter, AResumedStreamKeepsWhatItHeld) {
  Printed p;
  LogPrinter printer({true, false}, p.out, p.err);
  printer.on_event(text_event(1, 101, "par"));
  printer.on_reconnect(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"),
                       std::chrono::milliseconds(100), 1);
  auto more = text_event(2, 101, "tial\n");
  more.set_resumed(true);
  printer.on_event(more);
  EXPECT_EQ(p.out.str(), "[101 0:192.0.2.1] partial\n");
  EXPECT_EQ(p.err.str().find("restarts"), std::string::npos) << p.err.str();
}

TEST(LogPrinter, UnprefixedRestartStartsOnAFreshLine) {
  Printed p;
  LogPrinter printer({false, false}, p.out, p.err);
  printer.on_event(text_event(1, 101, "open"));
  printer.on_reconnect(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x"),
                       std::chrono::milliseconds(100), 1);
  EXPECT_EQ(p.out.str(), "open\n");  // ended before the note went to stderr
  printer.on_event(text_event(1, 101, "open"));
  EXPECT_EQ(p.out.str(), "open\nopen");
}

TEST(LogPrinter, JsonPrintsEachEventAsOneLine) {
  Printed p;
  LogPrinter printer({true, true}, p.out, p.err);
  printer.on_event(text_event(1, 101, "a\nb"));
  printer.on_event(end_event(2, 101, v1::HOST_STATUS_SUCCESS, 0));
  printer.finish();
  std::istringstream in(p.out.str());
  std::string line;
  std::vector<nlohmann::json> events;
  while (std::getline(in, line)) events.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["text"], "a\nb");
  EXPECT_EQ(events[1]["kind"], "LOG_EVENT_KIND_HOST_END");
  EXPECT_TRUE(printer.all_hosts_succeeded());
}

}  // namespace
}  // namespace jobgw::client
