// The state store's configuration keys: state.path and idempotency.window_s.
#include <gtest/gtest.h>

#include "server/config.h"

namespace jobgw::server {
namespace {

GatewayConfig load_ok(const std::vector<std::string>& args, const Environment& env = {}) {
  auto loaded = load_config(args, env);
  EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error().message);
  return loaded.ok() ? loaded.value().config : GatewayConfig{};
}

TEST(StateConfig, DefaultsKeepStateNextToTheProcessForADay) {
  GatewayConfig c = load_ok({});
  EXPECT_EQ(c.state.path, "jobgw-state.db");
  EXPECT_EQ(c.state.idempotency_window_s, 86400u);
}

TEST(StateConfig, EnvironmentAndFlagsSetThemFlagsWin) {
  GatewayConfig c = load_ok({}, {{"JOBGW_STATE_PATH", "/var/lib/jobgw/state.db"},
                                 {"JOBGW_IDEMPOTENCY_WINDOW_S", "3600"}});
  EXPECT_EQ(c.state.path, "/var/lib/jobgw/state.db");
  EXPECT_EQ(c.state.idempotency_window_s, 3600u);
  c = load_ok({"--state.path=/tmp/x.db", "--idempotency.window_s", "60"},
              {{"JOBGW_STATE_PATH", "/var/lib/jobgw/state.db"}});
  EXPECT_EQ(c.state.path, "/tmp/x.db");
  EXPECT_EQ(c.state.idempotency_window_s, 60u);
  // Empty: memory only.
  EXPECT_EQ(load_ok({"--state.path="}).state.path, "");
}

TEST(StateConfig, AWindowOutOfRangeIsRefusedNamingTheKey) {
  for (const char* bad : {"0", "-5", "2592001", "1h"}) {
    auto loaded = load_config({std::string("--idempotency.window_s=") + bad}, {});
    ASSERT_FALSE(loaded.ok()) << bad;
    EXPECT_NE(loaded.error().message.find("idempotency.window_s"), std::string::npos)
        << loaded.error().message;
  }
}

TEST(StateConfig, HelpListsBothKeysWithEnvNames) {
  const std::string help = config_help();
  EXPECT_NE(help.find("--state.path  (env JOBGW_STATE_PATH, default jobgw-state.db)"),
            std::string::npos)
      << help;
  EXPECT_NE(help.find("--idempotency.window_s  (env JOBGW_IDEMPOTENCY_WINDOW_S, default 86400)"),
            std::string::npos)
      << help;
}

}  // namespace
}  // namespace jobgw::server
