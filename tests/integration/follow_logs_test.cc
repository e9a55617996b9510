// FollowLogs end to end: jobsim runs real scripts that print in bursts; followers over gRPC
// reassemble every host's log byte for byte, share one log read per interval, resume exactly
// with after_seq, and are told clearly about hosts and steps that do not exist.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/stack_probes.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

// Bursts 0.4 s apart, multi-byte characters (2, 3 and 4 bytes) everywhere, so reads land inside
// characters; the last burst has no newline.
constexpr const char* kBursts =
    "for i in 1 2 3 4 5 6; do printf 'burst %d é中😀 ' $i; "
    "for j in $(seq 1 $((i*40))); do printf 'ü'; done; echo; sleep 0.4; done; printf '尾😀'";

struct Followed {
  std::map<std::int64_t, std::string> text;  // host id -> bytes in order
  std::map<std::int64_t, int> text_events;
  std::map<std::int64_t, int> ends;
  std::vector<v1::LogEvent> events;
  grpc::Status status;
  bool offsets_contiguous = true;
};

v1::FollowLogsRequest follow_request(std::int64_t job, std::uint64_t after_seq = 0) {
  v1::FollowLogsRequest r;
  r.mutable_scope()->set_type("biz");
  r.mutable_scope()->set_id("1");
  r.set_job_instance_id(job);
  r.set_after_seq(after_seq);
  return r;
}

// Reads a FollowLogs stream to its end, or until `stop_after` events.
Followed follow(v1::JobGateway::Stub& stub, const v1::FollowLogsRequest& request,
                std::size_t stop_after = 0, Followed seed = {}) {
  Followed out = std::move(seed);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 60s);
  auto reader = stub.FollowLogs(&context, request);
  v1::LogEvent event;
  std::size_t seen = 0;
  while (reader->Read(&event)) {
    out.events.push_back(event);
    const std::int64_t host = event.host().host_id();
    if (event.kind() == v1::LOG_EVENT_KIND_TEXT) {
      if (static_cast<std::size_t>(event.offset()) != out.text[host].size()) {
        out.offsets_contiguous = false;
      }
      out.text[host] += event.text();
      out.text_events[host]++;
    } else if (event.kind() == v1::LOG_EVENT_KIND_HOST_END) {
      out.ends[host]++;
    }
    if (stop_after != 0 && ++seen == stop_after) {
      context.TryCancel();
      break;
    }
  }
  out.status = reader->Finish();
  return out;
}

std::map<std::int64_t, std::string> final_logs(v1::JobGateway::Stub& stub, std::int64_t job) {
  grpc::ClientContext context;
  v1::GetIpLogsRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(job);
  v1::GetIpLogsResponse response;
  auto status = stub.GetIpLogs(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::map<std::int64_t, std::string> out;
  for (const auto& log : response.script_logs()) out[log.host().host_id()] = log.content();
  return out;
}

TEST(FollowLogs, BurstsWithMultiByteCharactersReassembleByteForByte) {
  GatewayStack stack(three_hosts({}, {"--follow.interval_ms=300"}));
  auto submitted = execute(stack.stub(), script_request(kBursts, {101, 102, 103}));
  ASSERT_TRUE(submitted.status.ok()) << submitted.status.error_message();
  Followed got = follow(stack.stub(), follow_request(submitted.ref.job_instance_id()));
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_TRUE(got.offsets_contiguous);
  auto logs = final_logs(stack.stub(), submitted.ref.job_instance_id());
  ASSERT_EQ(logs.size(), 3u);
  for (const auto& [host, content] : logs) {
    EXPECT_EQ(got.text[host], content) << "host " << host;
    EXPECT_EQ(got.ends[host], 1) << "host " << host;
    // Live, not all at the end: the 2.4 s script is read in several pieces.
    EXPECT_GE(got.text_events[host], 3) << "host " << host;
  }
  // HOST_END is each host's last event.
  std::map<std::int64_t, bool> ended;
  for (const auto& e : got.events) {
    EXPECT_FALSE(ended[e.host().host_id()]) << "an event after HOST_END";
    if (e.kind() == v1::LOG_EVENT_KIND_HOST_END) {
      ended[e.host().host_id()] = true;
      EXPECT_EQ(e.status(), v1::HOST_STATUS_SUCCESS);
    }
  }
  // Seqs only grow.
  for (std::size_t i = 1; i < got.events.size(); ++i) {
    EXPECT_GT(got.events[i].seq(), got.events[i - 1].seq());
  }
}

TEST(FollowLogs, FiftyFollowersShareOneLogReadPerInterval) {
  GatewayStack stack(three_hosts({}, {"--follow.interval_ms=500", "--limits.max_streams=1000"}));
  auto submitted = execute(
      stack.stub(),
      script_request("for i in $(seq 1 8); do echo tick $i; sleep 0.5; done", {101, 102, 103}));
  ASSERT_TRUE(submitted.status.ok());
  const std::int64_t job = submitted.ref.job_instance_id();
  const auto reads_before = jobsim_requests(stack, "batch_get_job_instance_ip_log");
  constexpr int kFollowers = 50;
  std::vector<Followed> results(kFollowers);
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kFollowers; ++i) {
    threads.emplace_back([&, i] { results[i] = follow(stack.stub(), follow_request(job)); });
  }
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto reads = jobsim_requests(stack, "batch_get_job_instance_ip_log") - reads_before;
  for (const auto& r : results) {
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    EXPECT_EQ(r.text.at(101), results[0].text.at(101));
  }
  // One read per 0.5 s interval while the job runs, plus the final read; 50 followers reading
  // alone would make ~50 times as many.
  const double intervals = seconds / 0.5;
  std::printf("[ metric ] follow_reads=%lld followers=%d seconds=%.1f intervals=%.1f\n",
              static_cast<long long>(reads), kFollowers, seconds, intervals);
  EXPECT_LE(reads, static_cast<std::int64_t>(intervals) + 3);
  EXPECT_GE(reads, 3);
}

TEST(FollowLogs, ResumingAfterASeqGivesExactlyTheRest) {
  GatewayStack stack(three_hosts({}, {"--follow.interval_ms=300"}));
  auto submitted = execute(stack.stub(), script_request(kBursts, {101}));
  ASSERT_TRUE(submitted.status.ok());
  const std::int64_t job = submitted.ref.job_instance_id();
  auto request = follow_request(job);
  request.add_host_ids(101);
  Followed first = follow(stack.stub(), request, /*stop_after=*/2);
  ASSERT_EQ(first.events.size(), 2u);
  Followed rest = follow(stack.stub(), follow_request(job, first.events.back().seq()), 0, first);
  ASSERT_TRUE(rest.status.ok()) << rest.status.error_message();
  EXPECT_TRUE(rest.offsets_contiguous);
  for (std::size_t i = 2; i < rest.events.size(); ++i) EXPECT_TRUE(rest.events[i].resumed());
  EXPECT_EQ(rest.text[101], final_logs(stack.stub(), job)[101]);
}

TEST(FollowLogs, ALateFollowerGetsWhatWasWrittenThenTheEnd) {
  GatewayStack stack(three_hosts());
  auto submitted = execute(stack.stub(), script_request("echo one; echo '<b>two</b>'", {101, 102}));
  ASSERT_TRUE(submitted.status.ok());
  const std::int64_t job = submitted.ref.job_instance_id();
  ASSERT_TRUE(watch_to_end(stack.stub(), job).status.ok());
  Followed got = follow(stack.stub(), follow_request(job));
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_EQ(got.text[101], "one\n<b>two</b>\n");
  EXPECT_EQ(got.ends[102], 1);
  EXPECT_FALSE(got.events.front().resumed());
}

TEST(FollowLogs, AFileStepStreamsItsTransferEntriesThenEachHostsEnd) {
  GatewayStack stack(three_hosts({}, {"--follow.interval_ms=200"}));
  auto seed = execute(stack.stub(),
                      script_request("mkdir -p data && printf 'payload' > data/src.txt", {101}));
  ASSERT_TRUE(seed.status.ok());
  ASSERT_TRUE(watch_to_end(stack.stub(), seed.ref.job_instance_id()).status.ok());

  v1::TransferFileRequest transfer;
  transfer.mutable_scope()->set_id("1");
  v1::FileSource* source = transfer.add_sources();
  source->add_files("/data/src.txt");
  source->mutable_servers()->add_host_ids(101);
  transfer.set_target_path("/tmp/recv/");
  transfer.mutable_targets()->add_host_ids(102);
  transfer.mutable_targets()->add_host_ids(103);
  grpc::ClientContext context;
  v1::JobRef ref;
  ASSERT_TRUE(stack.stub().TransferFile(&context, transfer, &ref).ok());

  Followed got = follow(stack.stub(), follow_request(ref.job_instance_id()));
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  std::map<std::int64_t, v1::FileLogStatus> last_download;
  for (const auto& e : got.events) {
    EXPECT_NE(e.kind(), v1::LOG_EVENT_KIND_TEXT) << "a file step has no script text";
    for (const auto& entry : e.file_entries()) {
      if (entry.mode() == v1::FILE_LOG_MODE_DOWNLOAD) {
        last_download[e.host().host_id()] = entry.status();
        EXPECT_EQ(entry.src_path(), "/data/src.txt");
      }
    }
  }
  EXPECT_EQ(last_download[102], v1::FILE_LOG_STATUS_SUCCESS);
  EXPECT_EQ(last_download[103], v1::FILE_LOG_STATUS_SUCCESS);
  EXPECT_EQ(got.ends[102], 1);
  EXPECT_EQ(got.ends[103], 1);
}

TEST(FollowLogs, UnknownHostsStepsAndBadRequestsAreNamed) {
  GatewayStack stack(three_hosts());
  auto submitted = execute(stack.stub(), script_request("echo hi", {101}));
  ASSERT_TRUE(submitted.status.ok());
  const std::int64_t job = submitted.ref.job_instance_id();

  auto host = follow_request(job);
  host.add_host_ids(103);
  Followed got = follow(stack.stub(), host);
  EXPECT_EQ(got.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(got.status.error_message().find("103"), std::string::npos)
      << got.status.error_message();

  auto step = follow_request(job);
  step.set_step_instance_id(999999);
  got = follow(stack.stub(), step);
  EXPECT_EQ(got.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(got.status.error_message().find("step"), std::string::npos);

  auto bad = follow_request(0);
  got = follow(stack.stub(), bad);
  EXPECT_EQ(got.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(got.status.error_message().find("job_instance_id"), std::string::npos);

  auto many = follow_request(job);
  for (int i = 0; i < 101; ++i) many.add_host_ids(1000 + i);
  got = follow(stack.stub(), many);
  EXPECT_EQ(got.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(got.status.error_message().find("host_ids"), std::string::npos);
}

}  // namespace
}  // namespace jobgw::testing
