#include "client/cli_args.h"

#include <gtest/gtest.h>

#include <map>

#include "api/status_names.h"

namespace jobgw::client {
namespace {

std::variant<CliCommand, UsageError> parse(std::vector<std::string> args,
                                           std::map<std::string, std::string> env = {}) {
  return parse_command_line(args, [env](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
}

CliCommand ok(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  auto r = parse(std::move(args), std::move(env));
  if (auto* e = std::get_if<UsageError>(&r)) ADD_FAILURE() << e->message;
  return std::holds_alternative<CliCommand>(r) ? std::get<CliCommand>(r) : CliCommand{};
}

std::string error(std::vector<std::string> args) {
  auto r = parse(std::move(args));
  auto* e = std::get_if<UsageError>(&r);
  return e ? e->message : "<parsed>";
}

TEST(HostSpec, BareNumberIsHostId) {
  std::string e;
  auto h = parse_host_spec("101", &e);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->host_id(), 101);
  EXPECT_TRUE(h->ip().empty());
}

TEST(HostSpec, CloudAndIpv4) {
  std::string e;
  auto h = parse_host_spec("3:192.0.2.7", &e);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->cloud_id(), 3);
  EXPECT_EQ(h->ip(), "192.0.2.7");
  EXPECT_EQ(h->host_id(), 0);
}

TEST(HostSpec, Ipv6SplitsOnFirstColon) {
  std::string e;
  auto h = parse_host_spec("0:2001:db8::1", &e);
  ASSERT_TRUE(h) << e;
  EXPECT_EQ(h->cloud_id(), 0);
  EXPECT_EQ(h->ip(), "2001:db8::1");
}

TEST(HostSpec, RejectsGarbage) {
  std::string e;
  for (const char* bad :
       {"", "abc", "0", "-5", "x:192.0.2.1", "0:not-an-ip", "0:", "0:999.1.1.1"}) {
    EXPECT_FALSE(parse_host_spec(bad, &e)) << bad;
  }
  EXPECT_NE(e.find("CLOUD:IP"), std::string::npos);
}

TEST(TransferSource, HostIdAndPath) {
  std::string e;
  auto s = parse_transfer_source("101:/data/a.log", &e);
  ASSERT_TRUE(s) << e;
  EXPECT_EQ(s->host.host_id(), 101);
  EXPECT_EQ(s->path, "/data/a.log");
}

TEST(TransferSource, CloudIpAndPath) {
  std::string e;
  auto s = parse_transfer_source("0:192.0.2.1:/data/a.log", &e);
  ASSERT_TRUE(s) << e;
  EXPECT_EQ(s->host.ip(), "192.0.2.1");
  EXPECT_EQ(s->path, "/data/a.log");
  auto v6 = parse_transfer_source("0:2001:db8::a:/x/y", &e);
  ASSERT_TRUE(v6) << e;
  EXPECT_EQ(v6->host.ip(), "2001:db8::a");
  EXPECT_EQ(v6->path, "/x/y");
}

TEST(TransferSource, RejectsMissingPath) {
  std::string e;
  EXPECT_FALSE(parse_transfer_source("101", &e));
  EXPECT_FALSE(parse_transfer_source("101:data", &e));
  EXPECT_FALSE(parse_transfer_source(":/data", &e));
}

TEST(Scope, Parses) {
  std::string e;
  auto s = parse_scope("biz_set:3", &e);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->type(), "biz_set");
  EXPECT_EQ(s->id(), "3");
  EXPECT_FALSE(parse_scope("team:1", &e));
  EXPECT_FALSE(parse_scope("biz:", &e));
  EXPECT_FALSE(parse_scope("biz", &e));
}

TEST(CommandLine, DefaultsAndEnvironment) {
  auto c = ok({"status", "42"});
  EXPECT_EQ(c.global.address, "127.0.0.1:50051");
  EXPECT_EQ(c.global.scope.type(), "biz");
  EXPECT_EQ(c.global.scope.id(), "1");
  EXPECT_EQ(c.job_id, 42);
  auto e = ok({"status", "42"}, {{"JOBGW_ADDR", "127.0.0.1:9"}, {"JOBGW_SCOPE", "biz_set:7"}});
  EXPECT_EQ(e.global.address, "127.0.0.1:9");
  EXPECT_EQ(e.global.scope.type(), "biz_set");
  auto f = ok({"--addr", "127.0.0.1:5", "status", "42", "--scope=biz:2"},
              {{"JOBGW_ADDR", "127.0.0.1:9"}});
  EXPECT_EQ(f.global.address, "127.0.0.1:5");
  EXPECT_EQ(f.global.scope.id(), "2");
}

TEST(CommandLine, ExecFlags) {
  auto c = ok({"exec",    "-c",         "echo hi",       "--lang",  "python",
               "--param", "a b",        "--job-timeout", "60",      "--account",
               "root",    "--host-ids", "101,102",       "--hosts", "0:192.0.2.9,103",
               "--watch", "--logs",     "--plain",       "--name",  "n1"});
  EXPECT_EQ(c.name, "exec");
  EXPECT_EQ(c.script_content, "echo hi");
  EXPECT_EQ(c.language, v1::SCRIPT_LANGUAGE_PYTHON);
  EXPECT_EQ(c.param, "a b");
  EXPECT_EQ(c.job_timeout, 60);
  EXPECT_EQ(c.account_alias, "root");
  ASSERT_EQ(c.targets.host_ids_size(), 3);
  EXPECT_EQ(c.targets.host_ids(2), 103);
  ASSERT_EQ(c.targets.hosts_size(), 1);
  EXPECT_EQ(c.targets.hosts(0).ip(), "192.0.2.9");
  EXPECT_TRUE(c.watch);
  EXPECT_TRUE(c.logs);
  EXPECT_EQ(c.output, OutputMode::kPlain);
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_TRUE(c.request_id.empty());  // jobctl makes one up when it runs
}

TEST(CommandLine, RpcTimeoutAndJobTimeoutAreSeparateFlags) {
  auto c =
      ok({"--rpc-timeout", "5", "exec", "script.sh", "--host-ids", "101", "--job-timeout", "9"});
  EXPECT_EQ(c.global.rpc_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.job_timeout, 9);
  EXPECT_EQ(c.script_file, "script.sh");
  auto w = ok({"watch", "7", "--rpc-timeout", "3", "--json"});
  EXPECT_EQ(w.global.rpc_timeout, std::chrono::seconds(3));
  EXPECT_EQ(w.output, OutputMode::kJson);
  EXPECT_EQ(error({"exec", "-c", "x", "--host-ids", "1", "--job-timeout", "86401"}),
            "bad timeout '86401' (seconds, 1..86400)");
  EXPECT_EQ(error({"watch", "7", "--job-timeout", "3"}), "unknown flag '--job-timeout' for watch");
}

TEST(CommandLine, TimeoutIsADeprecatedJobTimeoutOnSubmitsAndAnErrorElsewhere) {
  for (const char* cmd : {"exec", "transfer"}) {
    std::vector<std::string> args = {cmd, "--host-ids", "101", "--timeout", "9"};
    if (std::string(cmd) == "exec") args.insert(args.end(), {"-c", "true"});
    if (std::string(cmd) == "transfer") args.insert(args.end(), {"101:/a", "--to", "/b"});
    auto c = ok(args);
    EXPECT_EQ(c.job_timeout, 9) << cmd;
    EXPECT_EQ(c.global.rpc_timeout, std::chrono::seconds(30)) << cmd;
    ASSERT_EQ(c.warnings.size(), 1u) << cmd;
    EXPECT_NE(c.warnings[0].find("--job-timeout"), std::string::npos) << c.warnings[0];
  }
  // Before the command it meant the RPC timeout: refused, naming both flags, not reinterpreted.
  for (const auto& args : std::vector<std::vector<std::string>>{{"--timeout", "5", "health"},
                                                                {"watch", "7", "--timeout", "3"},
                                                                {"status", "7", "--timeout=3"}}) {
    auto e = error(args);
    EXPECT_NE(e.find("--rpc-timeout"), std::string::npos) << e;
    EXPECT_NE(e.find("--job-timeout"), std::string::npos) << e;
  }
}

TEST(CommandLine, RequestId) {
  auto c = ok({"exec", "-c", "true", "--host-ids", "1", "--request-id", "deploy-42"});
  EXPECT_EQ(c.request_id, "deploy-42");
  EXPECT_EQ(ok({"transfer", "1:/a", "--to", "/b", "--host-ids", "2", "--request-id=r1"}).request_id,
            "r1");
  EXPECT_EQ(error({"exec", "-c", "true", "--host-ids", "1", "--request-id="}),
            "--request-id needs an id of 1..128 characters");
  EXPECT_EQ(error({"status", "1", "--request-id", "x"}), "unknown flag '--request-id' for status");
  EXPECT_FALSE(c.no_request_id);
  EXPECT_TRUE(ok({"exec", "-c", "true", "--host-ids", "1", "--no-request-id"}).no_request_id);
  EXPECT_EQ(
      error({"exec", "-c", "true", "--host-ids", "1", "--no-request-id", "--request-id", "a"}),
      "--request-id and --no-request-id do not go together");
}

TEST(RequestId, JobctlPrefixAndSixteenHexDigits) {
  EXPECT_EQ(new_request_id(0), "jobctl-0000000000000000");
  EXPECT_EQ(new_request_id(0x0123456789abcdefULL), "jobctl-0123456789abcdef");
  EXPECT_EQ(new_request_id(~0ULL), "jobctl-ffffffffffffffff");
  EXPECT_NE(new_request_id(1), new_request_id(2));
}

TEST(CommandLine, VersionVerboseAndHelpCommand) {
  EXPECT_TRUE(ok({"--version"}).version);
  EXPECT_FALSE(ok({"health"}).version);
  EXPECT_TRUE(ok({"--verbose", "health"}).verbose);
  EXPECT_TRUE(ok({"watch", "3", "--verbose"}).verbose);
  EXPECT_FALSE(ok({"watch", "3"}).verbose);
  auto top = ok({"help"});
  EXPECT_TRUE(top.help);
  EXPECT_EQ(top.name, "");
  auto exec = ok({"help", "exec"});
  EXPECT_TRUE(exec.help);
  EXPECT_EQ(exec.name, "exec");
  EXPECT_EQ(error({"help", "launch"}), "unknown command 'launch'");
  // The overview lists `help` among the commands, so asking about it is the overview again.
  auto again = ok({"help", "help"});
  EXPECT_TRUE(again.help);
  EXPECT_EQ(again.name, "");
}

TEST(CommandLine, StatusTakesSeveralJobIds) {
  auto one = ok({"status", "7"});
  EXPECT_EQ(one.job_id, 7);
  EXPECT_EQ(one.job_ids, std::vector<std::int64_t>({7}));
  auto many = ok({"status", "--scope", "biz:2", "101", "102", "103", "--json"});
  EXPECT_EQ(many.job_id, 101);
  EXPECT_EQ(many.job_ids, std::vector<std::int64_t>({101, 102, 103}));
  EXPECT_EQ(error({"status", "101", "x"}), "bad JOB_ID 'x'");
  EXPECT_EQ(error({"watch", "101", "102"}), "unexpected argument '102'");
}

TEST(CommandLine, AddressMustBeHostAndPort) {
  for (const char* good : {"127.0.0.1:50051", "jobgw.internal:443", "[::1]:50051", "localhost:1",
                           "dns:///jobgw:50051", "unix:/run/jobgw.sock"}) {
    EXPECT_EQ(ok({"--addr", good, "health"}).global.address, good);
  }
  for (const char* bad : {"nohost", "127.0.0.1", "host:", ":50051", "host:port", "host:0",
                          "host:70000", "::1:50051", "[::1]", "a b:1"}) {
    auto e = error({"--addr", bad, "health"});
    EXPECT_EQ(e.rfind(std::string("bad --addr '") + bad + "'", 0), 0u) << e;
  }
  auto env = parse({"health"}, {{"JOBGW_ADDR", "nohost"}});
  ASSERT_TRUE(std::holds_alternative<UsageError>(env));
  EXPECT_EQ(std::get<UsageError>(env).message.rfind("JOBGW_ADDR: bad --addr 'nohost'", 0), 0u);
}

TEST(CommandLine, EmptyInlineScriptIsAUsageErrorNamingTheFlag) {
  EXPECT_EQ(error({"exec", "-c", "", "--host-ids", "1"}), "the script is empty (-c/--command)");
  EXPECT_EQ(error({"exec", "--command", " \n\t", "--host-ids", "1"}),
            "the script is empty (-c/--command)");
  EXPECT_EQ(error({"exec", "--file", "", "--host-ids", "1"}),
            "--file needs a path ('-' reads stdin)");
  EXPECT_EQ(error({"exec", "-c", "", "x.sh", "--host-ids", "1"}),
            "exec needs a script: a FILE or -c 'inline' (not both)");
}

TEST(CommandLine, HealthFlags) {
  auto d = ok({"health"});
  EXPECT_FALSE(d.service.has_value());
  EXPECT_FALSE(d.require_job);
  EXPECT_TRUE(ok({"health", "--require-job"}).require_job);
  EXPECT_EQ(ok({"health", "--service", ""}).service, std::optional<std::string>(""));
  EXPECT_EQ(ok({"health", "--service=jobgw.v1.JOB"}).service,
            std::optional<std::string>("jobgw.v1.JOB"));
}

TEST(CommandLine, TransferSourcesAndLimits) {
  auto c = ok({"transfer", "101:/data/a.log", "--from", "0:192.0.2.1:/data/b", "--to", "/tmp/in",
               "--host-ids", "102", "--upload-limit", "5", "--download-limit=6", "--mode", "strict",
               "--watch"});
  ASSERT_EQ(c.sources.size(), 2u);
  EXPECT_EQ(c.sources[1].host.ip(), "192.0.2.1");
  EXPECT_EQ(c.target_path, "/tmp/in");
  EXPECT_EQ(c.upload_limit_mb, 5);
  EXPECT_EQ(c.download_limit_mb, 6);
  EXPECT_EQ(c.transfer_mode, v1::TRANSFER_MODE_STRICT);
}

TEST(CommandLine, UsageErrors) {
  EXPECT_EQ(error({}), "no command given (see jobctl --help)");
  EXPECT_EQ(error({"launch"}), "unknown command 'launch'");
  EXPECT_EQ(error({"status", "--bogus"}), "unknown flag '--bogus' for status");
  EXPECT_EQ(error({"status"}), "status needs a JOB_ID");
  EXPECT_EQ(error({"status", "abc"}), "bad JOB_ID 'abc'");
  EXPECT_EQ(error({"exec", "-c", "true"}), "exec needs targets: --host-ids or --hosts");
  EXPECT_EQ(error({"exec", "--host-ids", "101"}),
            "exec needs a script: a FILE or -c 'inline' (not both)");
  EXPECT_EQ(error({"exec", "-c", "x", "--host-ids", "1x"}), "bad host id '1x'");
  EXPECT_EQ(error({"exec", "-c", "x", "--host-ids", "1", "--logs"}), "--logs needs --watch");
  EXPECT_EQ(error({"exec", "-c", "x", "--host-ids", "1", "--job-timeout", "0"}),
            "bad timeout '0' (seconds, 1..86400)");
  EXPECT_EQ(error({"transfer", "101:/a", "--host-ids", "102"}), "transfer needs --to /dir");
  EXPECT_EQ(error({"watch", "1", "--after-seq"}), "--after-seq needs a value");
  EXPECT_EQ(error({"health", "--plain=1"}), "unknown flag '--plain' for health");
  EXPECT_EQ(error({"--scope", "x", "health"}), "bad scope 'x' (biz:ID or biz_set:ID)");
}

TEST(CommandLine, ListFlags) {
  auto d = ok({"list"});
  EXPECT_EQ(d.list_state, ListState::kAll);
  EXPECT_EQ(d.limit, 50);
  EXPECT_FALSE(d.all_pages);
  EXPECT_FALSE(d.global.scope_set);  // the default biz:1 does not narrow the list
  EXPECT_EQ(d.output, OutputMode::kAuto);
  auto c = ok({"list", "--scope", "biz:2", "--state", "failed", "--name-prefix", "deploy-",
               "--limit=7", "--all", "--json"});
  EXPECT_TRUE(c.global.scope_set);
  EXPECT_EQ(c.global.scope.id(), "2");
  EXPECT_EQ(c.list_state, ListState::kFailed);
  EXPECT_EQ(c.name_prefix, "deploy-");
  EXPECT_EQ(c.limit, 7);
  EXPECT_TRUE(c.all_pages);
  EXPECT_EQ(c.output, OutputMode::kJson);
  EXPECT_EQ(ok({"list", "--state", "running"}).list_state, ListState::kRunning);
  EXPECT_EQ(ok({"list", "--state", "finished"}).list_state, ListState::kFinished);
  EXPECT_TRUE(ok({"list"}, {{"JOBGW_SCOPE", "biz:3"}}).global.scope_set);
  EXPECT_TRUE(ok({"--scope", "biz:1", "list"}).global.scope_set);
  EXPECT_EQ(error({"list", "--state", "done"}),
            "unknown --state 'done' (running, finished, failed)");
  EXPECT_EQ(error({"list", "--limit", "0"}), "bad --limit '0' (jobs per page, 1..500)");
  EXPECT_EQ(error({"list", "--limit", "501"}), "bad --limit '501' (jobs per page, 1..500)");
  EXPECT_EQ(error({"list", "--plain"}), "unknown flag '--plain' for list");
  EXPECT_EQ(error({"list", "12"}), "unexpected argument '12'");
}

TEST(CommandLine, LogsFollow) {
  EXPECT_FALSE(ok({"logs", "9"}).follow);
  auto c = ok({"logs", "-f", "9", "--step", "20001", "--host", "101", "--host", "0:10.0.0.1"});
  EXPECT_TRUE(c.follow);
  EXPECT_EQ(c.job_id, 9);
  EXPECT_EQ(c.step_id, 20001);
  ASSERT_EQ(c.targets.host_ids_size(), 1);
  ASSERT_EQ(c.targets.hosts_size(), 1);
  EXPECT_EQ(c.targets.hosts(0).ip(), "10.0.0.1");
  EXPECT_TRUE(ok({"logs", "9", "--follow"}).follow);
  EXPECT_EQ(error({"logs", "-f"}), "logs needs a JOB_ID");
  EXPECT_EQ(error({"watch", "9", "-f"}), "unknown flag '-f' for watch");
}

TEST(CommandLine, HelpNeedsNothingElse) {
  for (const char* cmd :
       {"exec", "transfer", "watch", "logs", "list", "status", "terminate", "health"}) {
    auto c = ok({cmd, "--help"});
    EXPECT_TRUE(c.help);
    EXPECT_NE(usage(cmd).find(std::string("Usage: jobctl ") + cmd), std::string::npos);
  }
  EXPECT_TRUE(ok({"-h"}).help);
  // Every flag a command's help names is one it accepts, and the other way round for the
  // flags people asked for by name.
  EXPECT_NE(usage("exec").find("--request-id"), std::string::npos);
  EXPECT_NE(usage("exec").find("--job-timeout"), std::string::npos);
  EXPECT_NE(usage("transfer").find("--request-id"), std::string::npos);
  EXPECT_NE(usage("").find("--rpc-timeout"), std::string::npos);
  EXPECT_NE(usage("").find("--verbose"), std::string::npos);
  EXPECT_NE(usage("").find("--version"), std::string::npos);
  EXPECT_NE(usage("").find("jobctl help COMMAND"), std::string::npos);
  EXPECT_NE(usage("status").find("JOB_ID..."), std::string::npos);
  EXPECT_NE(usage("health").find("--require-job"), std::string::npos);
}

TEST(CommandLine, TokenFlagWinsOverEnvironment) {
  EXPECT_EQ(ok({"health"}, {{"JOBGW_TOKEN", "from-env"}}).global.token, "from-env");
  EXPECT_EQ(ok({"--token", "from-flag", "health"}, {{"JOBGW_TOKEN", "from-env"}}).global.token,
            "from-flag");
  EXPECT_EQ(ok({"health", "--token=after"}).global.token, "after");
  EXPECT_TRUE(ok({"health"}).global.token.empty());
  // The message names the flag, never a value.
  EXPECT_EQ(error({"health", "--token="}), "--token needs a value");
}

TEST(CommandLine, TlsFlags) {
  CliCommand plain = ok({"health"});
  EXPECT_FALSE(plain.global.tls);
  CliCommand c = ok({"--ca-file", "/ca.pem", "--cert-file", "/c.pem", "--key-file", "/k.pem",
                     "--server-name", "jobgw.internal", "status", "7"});
  EXPECT_TRUE(c.global.tls);
  EXPECT_EQ(c.global.ca_file, "/ca.pem");
  EXPECT_EQ(c.global.cert_file, "/c.pem");
  EXPECT_EQ(c.global.key_file, "/k.pem");
  EXPECT_EQ(c.global.server_name, "jobgw.internal");
  EXPECT_TRUE(ok({"health", "--tls"}).global.tls);
  EXPECT_EQ(error({"--cert-file", "/c.pem", "health"}), "--cert-file and --key-file go together");
  EXPECT_EQ(error({"--key-file", "/k.pem", "--tls", "health"}),
            "--cert-file and --key-file go together");
  EXPECT_EQ(error({"--server-name", "x", "health"}), "--server-name needs --tls");
  EXPECT_EQ(error({"--ca-file=", "health"}), "--ca-file needs a file");
}

TEST(CommandLine, TokenHash) {
  CliCommand c = ok({"token", "hash"});
  EXPECT_EQ(c.token_action, "hash");
  EXPECT_FALSE(c.generate_token);
  EXPECT_TRUE(ok({"token", "hash", "--generate"}).generate_token);
  EXPECT_EQ(error({"token"}), "token needs an action: jobctl token hash");
  EXPECT_EQ(error({"token", "show"}), "unknown token action 'show' (hash)");
}

TEST(StatusNames, FromProtoEnumNames) {
  EXPECT_EQ(api::job_status_name(3), "success");
  EXPECT_EQ(api::job_status_name(2), "running");
  EXPECT_EQ(api::job_status_name(12), "12");
  EXPECT_EQ(api::host_status_name(9), "success");
  EXPECT_EQ(api::host_status_name(104), "nonzero_exit_code");
  EXPECT_EQ(api::host_status_name(310), "agent_abnormal");
  EXPECT_EQ(api::host_status_name(0), "unknown_error");
  EXPECT_EQ(api::host_status_name(777), "777");
  EXPECT_TRUE(api::host_status_final(104));
  EXPECT_FALSE(api::host_status_final(7));
}

}  // namespace
}  // namespace jobgw::client
