// GetIpLogs paging as the server adapts it: the config key, the byte limits, and a sizer that
// measures exactly what goes on the wire.
#include "server/ip_log_pages.h"

#include <gtest/gtest.h>

#include <string>

#include "server/config.h"
#include "server/proto_mapping.h"

namespace jobgw::server {
namespace {

TEST(IpLogPagesTest, PageHostsConfigKey) {
  auto defaults = load_config({}, {});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->config.service.log_page_hosts, 500u);
  auto set = load_config({"--logs.page_hosts=20"}, {{"JOBGW_LOGS_PAGE_HOSTS", "30"}});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->config.service.log_page_hosts, 20u);
  auto zero = load_config({"--logs.page_hosts=0"}, {});
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.error().message.find("logs.page_hosts"), std::string::npos);
  EXPECT_NE(config_help().find("--logs.page_hosts"), std::string::npos);
}

TEST(IpLogPagesTest, ServerLimitKeepsAMargin) {
  EXPECT_EQ(log_page_limit(1024 * 1024), 1024u * 1024 - 16 * 1024);
  EXPECT_EQ(log_page_limit(64u * 1024 * 1024), 64u * 1024 * 1024 - 16 * 1024);
  EXPECT_EQ(log_page_limit(8192), 8192u - 1024);
}

TEST(IpLogPagesTest, RequestLimitIsCappedByTheServer) {
  v1::GetIpLogsRequest request;
  EXPECT_EQ(log_page_bytes(request, 100000).value(), 100000u);
  request.set_max_response_bytes(5000);
  EXPECT_EQ(log_page_bytes(request, 100000).value(), 5000u);
  request.set_max_response_bytes(1 << 30);
  EXPECT_EQ(log_page_bytes(request, 100000).value(), 100000u);
  for (std::int64_t bad : {std::int64_t{-1}, std::int64_t{1}, std::int64_t{4095}}) {
    request.set_max_response_bytes(bad);
    auto r = log_page_bytes(request, 100000);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message.rfind("max_response_bytes:", 0), 0u) << r.error().message;
  }
  request.set_max_response_bytes(0);
  request.set_page_token("lp1.zz");
  auto r = log_page_bytes(request, 100000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("page_token:", 0), 0u) << r.error().message;
}

// The sizer's per-host bytes plus its fixed part bound the serialized response exactly as far
// as the items go, whatever the content length (the length prefix grows with it).
TEST(IpLogPagesTest, SizerMatchesTheEncodedResponse) {
  const core::LogPageSizer sizer = proto_log_page_sizer();
  for (std::size_t n : {0u, 1u, 127u, 128u, 16383u, 16384u, 3000000u}) {
    SCOPED_TRACE(n);
    core::IpLogs logs;
    logs.log_type = core::kLogScript;
    core::ScriptLog a;
    a.host.host_id = 101;
    a.host.ip = "192.0.2.1";
    a.content = std::string(n, 'x');
    core::ScriptLog b = a;
    b.host.host_id = 102;
    b.truncated = true;
    logs.script_logs = {a, b};
    v1::GetIpLogsResponse response;
    to_proto(logs, &response);
    const std::size_t items = sizer.script(a) + sizer.script(b);
    response.set_next_page_token(
        core::encode_log_page_token({~std::size_t{0}, ~0ULL, ~std::size_t{0}}));
    EXPECT_LE(response.ByteSizeLong(), items + sizer.fixed);
    response.clear_next_page_token();
    response.set_log_type(v1::LOG_TYPE_UNSPECIFIED);
    EXPECT_EQ(response.ByteSizeLong(), items);
  }
  core::FileHostLog file;
  file.host.host_id = 7;
  file.entries.resize(3);
  file.entries[1].content = std::string(500, 'y');
  v1::GetIpLogsResponse response;
  core::IpLogs logs;
  logs.file_logs = {file};
  to_proto(logs, &response);
  EXPECT_EQ(response.ByteSizeLong(), sizer.file(file));
}

}  // namespace
}  // namespace jobgw::server
