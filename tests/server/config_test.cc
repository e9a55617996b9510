#include "server/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace jobgw::server {
namespace {

// A JSON file that is removed when the test ends.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/jobgw_config_test_XXXXXX";
    int fd = ::mkstemp(name);
    EXPECT_GE(fd, 0);
    ::close(fd);
    path_ = name;
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

GatewayConfig load_ok(const std::vector<std::string>& args, const Environment& env = {}) {
  auto loaded = load_config(args, env);
  EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error().message);
  if (!loaded.ok()) return {};
  return loaded.value().config;
}

std::string load_error(const std::vector<std::string>& args, const Environment& env = {}) {
  auto loaded = load_config(args, env);
  EXPECT_FALSE(loaded.ok());
  return loaded.ok() ? std::string() : loaded.error().message;
}

TEST(ConfigTest, DefaultsRunAgainstLocalJobsim) {
  GatewayConfig c = load_ok({});
  EXPECT_EQ(c.grpc.listen, "127.0.0.1:50051");
  EXPECT_EQ(c.grpc.max_receive_message_bytes, 4u * 1024 * 1024);
  EXPECT_EQ(c.grpc.max_send_message_bytes, 4u * 1024 * 1024);
  EXPECT_EQ(c.job.http.base_url, "http://127.0.0.1:8090");
  EXPECT_EQ(c.job.api.mode, core::ApiMode::kApigw);
  EXPECT_EQ(c.job.api.default_operator, "admin");
  EXPECT_EQ(c.job.api.default_account_alias, "root");
  EXPECT_TRUE(c.job.api.app_secret.empty());
  EXPECT_FALSE(c.job.http.insecure_skip_verify);
  EXPECT_EQ(c.service.job_call_timeout.count(), 15000);
  EXPECT_EQ(c.watch.poll_floor.count(), 200);
  EXPECT_EQ(c.watch.poll_ceiling.count(), 5000);
  EXPECT_EQ(c.callback.http.listen, "");
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9464");
  EXPECT_EQ(c.service.validation.max_script_bytes, 1024u * 1024);
  EXPECT_EQ(c.service.validation.max_param_bytes, 64u * 1024);
  EXPECT_EQ(c.service.admission.max_streams, 10000u);
  EXPECT_EQ(c.service.admission.max_inflight_job_calls, 1000u);
  EXPECT_EQ(c.threads, 1u);
  EXPECT_EQ(c.shutdown_grace.count(), 10000);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.ports_file, "");
}

TEST(ConfigTest, OverloadLimitsFromEnvAndFlagsAndNeverZero) {
  GatewayConfig c =
      load_ok({"--limits.max_streams=3"}, {{"JOBGW_LIMITS_MAX_INFLIGHT_JOB_CALLS", "7"}});
  EXPECT_EQ(c.service.admission.max_streams, 3u);
  EXPECT_EQ(c.service.admission.max_inflight_job_calls, 7u);
  std::string e = load_error({"--limits.max_inflight_job_calls=0"});
  EXPECT_NE(e.find("limits.max_inflight_job_calls"), std::string::npos) << e;
  EXPECT_NE(e.find("out of range"), std::string::npos) << e;
  e = load_error({}, {{"JOBGW_LIMITS_MAX_STREAMS", "many"}});
  EXPECT_NE(e.find("limits.max_streams"), std::string::npos) << e;
}

TEST(ConfigTest, FileNestedAndDottedKeys) {
  TempFile file(R"({"grpc": {"listen": "127.0.0.1:0", "max_receive_message_bytes": 8388608},
                    "job.base_url": "https://bkapi.example.com/api/job",
                    "job": {"api_mode": "esb", "insecure_skip_verify": true},
                    "watch": {"poll_growth": 2, "poll_jitter": 0.25},
                    "threads": 3})");
  GatewayConfig c = load_ok({"--config", file.path()});
  EXPECT_EQ(c.grpc.listen, "127.0.0.1:0");
  EXPECT_EQ(c.grpc.max_receive_message_bytes, 8388608u);
  EXPECT_EQ(c.job.http.base_url, "https://bkapi.example.com/api/job");
  EXPECT_EQ(c.job.api.mode, core::ApiMode::kEsb);
  EXPECT_TRUE(c.job.http.insecure_skip_verify);
  EXPECT_DOUBLE_EQ(c.watch.poll_growth, 2.0);
  EXPECT_DOUBLE_EQ(c.watch.poll_jitter, 0.25);
  EXPECT_EQ(c.threads, 3u);
}

TEST(ConfigTest, ConfigFileFromEnvironment) {
  TempFile file(R"({"log": {"level": "debug"}})");
  GatewayConfig c = load_ok({}, {{"JOBGW_CONFIG", file.path()}});
  EXPECT_EQ(c.log_level, "debug");
}

TEST(ConfigTest, PrecedenceFileThenEnvThenFlags) {
  TempFile file(R"({"job": {"base_url": "http://file:1", "max_attempts": 2,
                    "default_operator": "from_file"}})");
  Environment env{{"JOBGW_JOB_BASE_URL", "http://env:2"}, {"JOBGW_JOB_MAX_ATTEMPTS", "3"}};
  GatewayConfig c = load_ok({"--config=" + file.path(), "--job.base_url=http://flag:3"}, env);
  EXPECT_EQ(c.job.http.base_url, "http://flag:3");     // flag beats env and file
  EXPECT_EQ(c.job.http.max_attempts, 3);               // env beats file
  EXPECT_EQ(c.job.api.default_operator, "from_file");  // file beats default
}

TEST(ConfigTest, FlagsInBothForms) {
  GatewayConfig c = load_ok({"--grpc.listen", "[::1]:0", "--watch.poll_floor_ms=50",
                             "--job.insecure_skip_verify", "--threads", "2"});
  EXPECT_EQ(c.grpc.listen, "[::1]:0");
  EXPECT_EQ(c.watch.poll_floor.count(), 50);
  EXPECT_TRUE(c.job.http.insecure_skip_verify);
  EXPECT_EQ(c.threads, 2u);

  GatewayConfig off = load_ok({"--job.insecure_skip_verify", "false", "--log.level", "warn"});
  EXPECT_FALSE(off.job.http.insecure_skip_verify);
  EXPECT_EQ(off.log_level, "warn");
}

TEST(ConfigTest, LaterFlagWins) {
  GatewayConfig c = load_ok({"--threads=2", "--threads=5"});
  EXPECT_EQ(c.threads, 5u);
}

TEST(ConfigTest, EmptyListenTurnsListenersOff) {
  GatewayConfig c = load_ok({"--metrics.listen="}, {{"JOBGW_CALLBACK_LISTEN", "127.0.0.1:0"}});
  EXPECT_EQ(c.metrics.listen, "");
  EXPECT_EQ(c.callback.http.listen, "127.0.0.1:0");
}

TEST(ConfigTest, BadValuesNameKeyAndSource) {
  std::string e = load_error({"--job.max_attempts=abc"});
  EXPECT_NE(e.find("job.max_attempts"), std::string::npos) << e;
  EXPECT_NE(e.find("flag --job.max_attempts"), std::string::npos) << e;

  e = load_error({}, {{"JOBGW_WATCH_POLL_JITTER", "1.5"}});
  EXPECT_NE(e.find("watch.poll_jitter"), std::string::npos) << e;
  EXPECT_NE(e.find("env JOBGW_WATCH_POLL_JITTER"), std::string::npos) << e;
  EXPECT_NE(e.find("out of range"), std::string::npos) << e;

  TempFile wrong_type(R"({"threads": "four"})");
  e = load_error({"--config", wrong_type.path()});
  EXPECT_NE(e.find("threads"), std::string::npos) << e;
  EXPECT_NE(e.find("config file " + wrong_type.path()), std::string::npos) << e;
  EXPECT_NE(e.find("expected an integer"), std::string::npos) << e;

  TempFile negative(R"({"job": {"max_connections": -1}})");
  e = load_error({"--config", negative.path()});
  EXPECT_NE(e.find("job.max_connections"), std::string::npos) << e;

  EXPECT_NE(load_error({"--job.api_mode=soap"}).find("job.api_mode"), std::string::npos);
  EXPECT_NE(load_error({"--job.base_url=ftp://x"}).find("job.base_url"), std::string::npos);
  EXPECT_NE(load_error({"--grpc.listen=nohostport"}).find("grpc.listen"), std::string::npos);
  EXPECT_NE(load_error({"--grpc.listen=127.0.0.1:70000"}).find("grpc.listen"), std::string::npos);
  EXPECT_NE(load_error({"--job.insecure_skip_verify=maybe"}).find("job.insecure_skip_verify"),
            std::string::npos);
  EXPECT_NE(load_error({"--log.level=loud"}).find("log.level"), std::string::npos);
  EXPECT_NE(load_error({"--threads=-1"}).find("threads"), std::string::npos);
  EXPECT_NE(load_error({"--watch.poll_growth=1e999"}).find("watch.poll_growth"), std::string::npos);
  EXPECT_NE(load_error({"--watch.poll_growth=2x"}).find("watch.poll_growth"), std::string::npos);
  EXPECT_NE(load_error({"--job.request_timeout_ms=0"}).find("job.request_timeout_ms"),
            std::string::npos);
}

TEST(ConfigTest, CrossKeyRules) {
  EXPECT_NE(load_error({"--watch.poll_floor_ms=6000", "--watch.poll_ceiling_ms=5000"})
                .find("watch.poll_floor_ms"),
            std::string::npos);
  EXPECT_NE(load_error({"--callback.public_url=http://gw:1/cb"}).find("callback.listen"),
            std::string::npos);
  EXPECT_NE(load_error({"--job.app_code=bk_log"}).find("job.app_secret"), std::string::npos);
  GatewayConfig c = load_ok({"--callback.listen=127.0.0.1:0",
                             "--callback.public_url=http://gw.example:8443/jobgw/v1/callback"});
  EXPECT_EQ(c.callback.public_url, "http://gw.example:8443/jobgw/v1/callback");
}

TEST(ConfigTest, FieldLimitsAreReachedBeforeTheMessageLimit) {
  // A script over its limit must reach validation (INVALID_ARGUMENT naming script_content)
  // instead of being cut off by gRPC's message limit (RESOURCE_EXHAUSTED, no field named).
  const std::string e = load_error({"--limits.max_script_bytes=8388608"});
  EXPECT_NE(e.find("grpc.max_receive_message_bytes (4194304)"), std::string::npos) << e;
  EXPECT_NE(e.find("limits.max_script_bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("9502720"), std::string::npos) << e;  // 8 MiB + 64 KiB + 1 MiB
  EXPECT_NE(load_error({"--grpc.max_receive_message_bytes=1048576"}).find("script_content"),
            std::string::npos);
  GatewayConfig c =
      load_ok({"--limits.max_script_bytes=8388608", "--grpc.max_receive_message_bytes=9502720"});
  EXPECT_EQ(c.service.validation.max_script_bytes, 8388608u);
  // The defaults leave room: 1 MiB + 64 KiB + 1 MiB <= 4 MiB.
  load_ok({});
}

TEST(ConfigTest, TlsKeysDefaultToPlaintextAndGoInPairs) {
  GatewayConfig d = load_ok({});
  EXPECT_TRUE(d.grpc.tls.cert_file.empty());
  EXPECT_FALSE(d.grpc.tls.require_client_cert);
  EXPECT_EQ(d.grpc.tls.reload_interval_s, 60u);
  GatewayConfig c =
      load_ok({"--tls.cert_file=/c.pem", "--tls.key_file=/k.pem", "--tls.client_ca_file=/ca.pem",
               "--tls.require_client_cert", "--tls.reload_interval_s=5",
               "--metrics.tls_cert_file=/m.pem", "--metrics.tls_key_file=/mk.pem"},
              {{"JOBGW_CALLBACK_SECRET_FILE", "/cb.key"}});
  EXPECT_EQ(c.grpc.tls.client_ca_file, "/ca.pem");
  EXPECT_TRUE(c.grpc.tls.require_client_cert);
  EXPECT_EQ(c.grpc.tls.reload_interval_s, 5u);
  EXPECT_EQ(c.metrics.tls_key_file, "/mk.pem");
  EXPECT_EQ(c.callback.secret_file, "/cb.key");

  struct Case {
    std::vector<std::string> args;
    std::string names;
  };
  const Case cases[] = {
      {{"--tls.cert_file=/c.pem"}, "tls.cert_file and tls.key_file"},
      {{"--tls.key_file=/k.pem"}, "tls.cert_file and tls.key_file"},
      {{"--metrics.tls_key_file=/k.pem"}, "metrics.tls_cert_file and metrics.tls_key_file"},
      {{"--callback.tls_cert_file=/c.pem"}, "callback.tls_cert_file and callback.tls_key_file"},
      {{"--tls.client_ca_file=/ca.pem"}, "tls.client_ca_file needs tls.cert_file"},
      {{"--tls.cert_file=/c.pem", "--tls.key_file=/k.pem", "--tls.require_client_cert"},
       "tls.require_client_cert needs tls.client_ca_file"},
      {{"--callback.listen=127.0.0.1:9000", "--metrics.listen=127.0.0.1:9000",
        "--callback.tls_cert_file=/c.pem", "--callback.tls_key_file=/k.pem"},
       "share one address"},
      {{"--tls.reload_interval_s=0"}, "tls.reload_interval_s"},
  };
  for (const Case& k : cases) {
    std::string error = load_error(k.args);
    EXPECT_NE(error.find(k.names), std::string::npos) << error;
  }
  // A shared address with the same pair on both is fine.
  load_ok({"--callback.listen=127.0.0.1:9000", "--metrics.listen=127.0.0.1:9000",
           "--callback.tls_cert_file=/c.pem", "--callback.tls_key_file=/k.pem",
           "--metrics.tls_cert_file=/c.pem", "--metrics.tls_key_file=/k.pem"});
}

TEST(ConfigTest, UnknownKeysAndFlagsAreErrors) {
  std::string e = load_error({"--grpc.lisen=127.0.0.1:1"});
  EXPECT_NE(e.find("unknown flag --grpc.lisen"), std::string::npos) << e;

  TempFile file(R"({"grpc": {"lisen": "127.0.0.1:1"}})");
  e = load_error({"--config", file.path()});
  EXPECT_NE(e.find("unknown key \"grpc.lisen\""), std::string::npos) << e;
  EXPECT_NE(e.find(file.path()), std::string::npos) << e;

  EXPECT_NE(load_error({"positional"}).find("positional"), std::string::npos);
  EXPECT_NE(load_error({"--grpc.listen"}).find("needs a value"), std::string::npos);
}

TEST(ConfigTest, UnreadableOrInvalidFile) {
  EXPECT_NE(load_error({"--config", "/nonexistent/jobgw.json"}).find("cannot be read"),
            std::string::npos);
  TempFile broken("{\"grpc\": ");
  EXPECT_NE(load_error({"--config", broken.path()}).find("not valid JSON"), std::string::npos);
  TempFile array("[1, 2]");
  EXPECT_NE(load_error({"--config", array.path()}).find("expected a JSON object"),
            std::string::npos);
}

TEST(ConfigTest, UnknownEnvironmentVariablesWarnOnly) {
  auto loaded = load_config({}, {{"JOBGW_GRPC_LISEN", "x"}, {"JOBGW_THREADS", "2"}});
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded.value().config.threads, 2u);
  ASSERT_EQ(loaded.value().warnings.size(), 1u);
  EXPECT_NE(loaded.value().warnings[0].find("JOBGW_GRPC_LISEN"), std::string::npos);
}

TEST(ConfigTest, SecretIsNeverShown) {
  const std::string secret = "s3cr3t-value";
  GatewayConfig c = load_ok({"--job.app_code=bk_log"}, {{"JOBGW_JOB_APP_SECRET", secret}});
  EXPECT_EQ(c.job.api.app_secret, secret);
  std::string summary = c.summary();
  EXPECT_EQ(summary.find(secret), std::string::npos) << summary;
  EXPECT_NE(summary.find("job.app_secret=<set>"), std::string::npos) << summary;
  EXPECT_NE(summary.find("job.app_code=bk_log"), std::string::npos) << summary;
  EXPECT_NE(GatewayConfig{}.summary().find("job.app_secret=<unset>"), std::string::npos);

  // Not in error messages either, even when the secret itself is the bad value's neighbour.
  TempFile file(R"({"job": {"app_secret": 12345}})");
  std::string e = load_error({"--config", file.path()});
  EXPECT_EQ(e.find("12345"), std::string::npos) << e;
  EXPECT_NE(e.find("job.app_secret"), std::string::npos) << e;
}

TEST(ConfigTest, HelpListsEveryKeyWithDefaultAndEnv) {
  auto loaded = load_config({"--threads=bad", "--help"}, {});
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded.value().help);
  std::string help = config_help();
  for (const char* needle :
       {"--job.base_url", "JOBGW_JOB_BASE_URL", "http://127.0.0.1:8090", "--grpc.listen",
        "JOBGW_GRPC_LISTEN", "127.0.0.1:50051", "--job.app_secret", "<unset>",
        "--watch.status_fresh_for_ms", "--callback.public_url", "--metrics.listen",
        "--limits.max_param_bytes", "--ports_file", "JOBGW_SHUTDOWN_GRACE_MS", "--log.level"}) {
    EXPECT_NE(help.find(needle), std::string::npos) << needle;
  }
  // Every key in the summary appears in the help.
  std::string summary = GatewayConfig{}.summary();
  std::size_t start = 0;
  while (start < summary.size()) {
    std::size_t end = summary.find(' ', start);
    if (end == std::string::npos) end = summary.size();
    std::string key = summary.substr(start, summary.find('=', start) - start);
    EXPECT_NE(help.find("--" + key + " "), std::string::npos) << key;
    start = end + 1;
  }
}

TEST(ConfigTest, ParseListenAddress) {
  auto v4 = parse_listen_address("0.0.0.0:8080");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4.value().host, "0.0.0.0");
  EXPECT_EQ(v4.value().port, 8080);
  auto v6 = parse_listen_address("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6.value().host, "::1");
  EXPECT_EQ(v6.value().port, 0);
  EXPECT_FALSE(parse_listen_address("::1:80").ok());
  EXPECT_FALSE(parse_listen_address(":80").ok());
  EXPECT_FALSE(parse_listen_address("host:").ok());
  EXPECT_FALSE(parse_listen_address("host:65536").ok());
  EXPECT_FALSE(parse_listen_address("[::1]80").ok());
}

}  // namespace
}  // namespace jobgw::server

namespace jobgw::server {
namespace {

TEST(SecurityConfig, DefaultsNameNoWayToAuthenticateSoStartupRefuses) {
  GatewayConfig c = load_ok({});
  EXPECT_TRUE(c.auth.credentials_file.empty());
  EXPECT_FALSE(c.auth.insecure_dev);
  EXPECT_EQ(c.auth.reload_interval, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.caller_limits.submits_per_second, 10);
  EXPECT_EQ(c.caller_limits.max_streams, 1000u);
  EXPECT_EQ(c.service.validation.max_targets, 5000u);
  const std::string problem = missing_auth_problem(c);
  EXPECT_NE(problem.find("auth.credentials_file"), std::string::npos) << problem;
  EXPECT_NE(problem.find("--insecure-dev"), std::string::npos) << problem;
}

TEST(SecurityConfig, InsecureDevFlagIsAnAliasOfTheKey) {
  EXPECT_TRUE(load_ok({"--insecure-dev"}).auth.insecure_dev);
  EXPECT_FALSE(load_ok({"--insecure-dev=false"}).auth.insecure_dev);
  EXPECT_TRUE(load_ok({}, {{"JOBGW_AUTH_INSECURE_DEV", "true"}}).auth.insecure_dev);
  EXPECT_TRUE(missing_auth_problem(load_ok({"--insecure-dev"})).empty());
}

TEST(SecurityConfig, CredentialsFileFromEnvOrFlag) {
  GatewayConfig c = load_ok(
      {"--limits.caller_submits_per_second=2.5", "--limits.caller_max_streams=0", "--audit.path=-"},
      {{"JOBGW_AUTH_CREDENTIALS_FILE", "/etc/jobgw/credentials.json"}});
  EXPECT_EQ(c.auth.credentials_file, "/etc/jobgw/credentials.json");
  EXPECT_EQ(c.caller_limits.submits_per_second, 2.5);
  EXPECT_EQ(c.caller_limits.max_streams, 0u);
  EXPECT_EQ(c.auth.audit_path, "-");
  EXPECT_TRUE(missing_auth_problem(c).empty());
}

TEST(SecurityConfig, CredentialsFileAndInsecureDevTogetherAreAmbiguous) {
  const std::string e = load_error({"--insecure-dev", "--auth.credentials_file=/x.json"});
  EXPECT_NE(e.find("auth.credentials_file"), std::string::npos) << e;
  EXPECT_NE(e.find("auth.insecure_dev"), std::string::npos) << e;
}

TEST(SecurityConfig, HelpListsTheKeysAndTheAlias) {
  const std::string help = config_help();
  for (const char* key :
       {"--auth.credentials_file", "--auth.insecure_dev", "--auth.reload_interval_ms",
        "--limits.caller_submits_per_second", "--limits.caller_submit_burst",
        "--limits.caller_max_streams", "--limits.max_targets", "--audit.path", "--insecure-dev"}) {
    EXPECT_NE(help.find(key), std::string::npos) << key;
  }
}

}  // namespace
}  // namespace jobgw::server
