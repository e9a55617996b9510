#include "server/request_validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/server/expect_invalid.h"

namespace jobgw::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

v1::ExecuteScriptRequest valid_script() {
  v1::ExecuteScriptRequest r;
  r.mutable_scope()->set_id("2");
  r.set_script_content("echo hello");
  r.set_script_language(v1::SCRIPT_LANGUAGE_SHELL);
  r.mutable_targets()->add_host_ids(101);
  return r;
}

v1::TransferFileRequest valid_transfer() {
  v1::TransferFileRequest r;
  r.mutable_scope()->set_id("2");
  auto* source = r.add_sources();
  source->add_files("/data/a.log");
  source->mutable_servers()->add_host_ids(201);
  r.set_target_path("/tmp/");
  r.mutable_targets()->add_host_ids(101);
  return r;
}

// ----- scope ------------------------------------------------------------------------------

TEST(ScopeValidation, EmptyTypeMeansBiz) {
  v1::Scope s;
  s.set_id("7");
  auto r = to_scope(s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, "biz");
  EXPECT_EQ(r->id, "7");
}

TEST(ScopeValidation, BizAndBizSetAccepted) {
  v1::Scope s;
  s.set_id("7");
  s.set_type("biz");
  EXPECT_EQ(to_scope(s)->type, "biz");
  s.set_type("biz_set");
  EXPECT_EQ(to_scope(s)->type, "biz_set");
}

TEST(ScopeValidation, UnknownTypeRejected) {
  v1::Scope s;
  s.set_id("7");
  s.set_type("tenant");
  expect_invalid(to_scope(s), "scope.type", "'tenant'");
}

TEST(ScopeValidation, MissingIdRejected) {
  v1::Scope s;
  expect_invalid(to_scope(s), "scope.id", "required");
}

TEST(ScopeValidation, EveryRpcChecksScope) {
  auto script = valid_script();
  script.mutable_scope()->clear_id();
  expect_invalid(to_execute_script(script), "scope.id");
  auto transfer = valid_transfer();
  transfer.mutable_scope()->set_type("x");
  expect_invalid(to_transfer_file(transfer), "scope.type");
  v1::GetJobStatusRequest status;
  status.set_job_instance_id(1);
  expect_invalid(to_job_status(status), "scope.id");
  v1::GetIpLogsRequest logs;
  logs.set_job_instance_id(1);
  expect_invalid(to_ip_logs(logs), "scope.id");
  v1::TerminateJobRequest term;
  term.set_job_instance_id(1);
  expect_invalid(to_terminate(term), "scope.id");
  v1::WatchStatusRequest watch;
  watch.set_job_instance_id(1);
  expect_invalid(to_watch(watch), "scope.id");
}

// ----- hosts and targets ------------------------------------------------------------------

TEST(HostValidation, ById) {
  v1::Host h;
  h.set_host_id(5);
  auto r = to_host(h, "hosts[0]");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->host_id, 5);
}

TEST(HostValidation, ByIpv4) {
  v1::Host h;
  h.set_ip("10.0.0.1");
  h.set_cloud_id(3);
  auto r = to_host(h, "hosts[0]");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ip, "10.0.0.1");
  EXPECT_EQ(r->cloud_id, 3);
}

TEST(HostValidation, BadIpNamesFieldAndValue) {
  v1::Host h;
  h.set_ip("300.1.1.1");
  expect_invalid(to_host(h, "targets.hosts[1]"), "targets.hosts[1].ip",
                 "'300.1.1.1' is not an IPv4 or IPv6 address");
}

TEST(HostValidation, Ipv6NeedsHostId) {
  v1::Host h;
  h.set_ip("2001:db8::1");
  expect_invalid(to_host(h, "hosts[0]"), "hosts[0].host_id", "IPv6");
  h.set_host_id(9);
  EXPECT_TRUE(to_host(h, "hosts[0]").ok());
}

TEST(HostValidation, NeedsIdOrIp) { expect_invalid(to_host(v1::Host(), "hosts[2]"), "hosts[2]"); }

TEST(HostValidation, NegativeIdsRejected) {
  v1::Host h;
  h.set_host_id(-1);
  expect_invalid(to_host(h, "hosts[0]"), "hosts[0].host_id");
  h.set_host_id(1);
  h.set_cloud_id(-2);
  expect_invalid(to_host(h, "hosts[0]"), "hosts[0].cloud_id");
}

TEST(TargetsValidation, EmptyRejected) {
  expect_invalid(to_targets(v1::Targets(), "targets"), "targets", "at least one");
}

TEST(TargetsValidation, HostIdsMustBePositive) {
  v1::Targets t;
  t.add_host_ids(1);
  t.add_host_ids(0);
  expect_invalid(to_targets(t, "targets"), "targets.host_ids[1]", "positive");
  t.set_host_ids(1, -4);
  expect_invalid(to_targets(t, "targets"), "targets.host_ids[1]");
}

TEST(TargetsValidation, EachKindAloneIsEnough) {
  v1::Targets ids;
  ids.add_host_ids(1);
  EXPECT_TRUE(to_targets(ids, "t").ok());
  v1::Targets hosts;
  hosts.add_hosts()->set_ip("192.0.2.1");
  EXPECT_TRUE(to_targets(hosts, "t").ok());
  v1::Targets groups;
  groups.add_dynamic_group_ids("g1");
  EXPECT_TRUE(to_targets(groups, "t").ok());
  v1::Targets topo;
  auto* node = topo.add_topo_nodes();
  node->set_id(3);
  node->set_node_type("module");
  auto r = to_targets(topo, "t");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->topo_nodes.size(), 1u);
  EXPECT_EQ(r->topo_nodes[0].id, 3);
  EXPECT_EQ(r->topo_nodes[0].node_type, "module");
}

TEST(TargetsValidation, BadGroupsAndNodesNamed) {
  v1::Targets t;
  t.add_dynamic_group_ids("");
  expect_invalid(to_targets(t, "targets"), "targets.dynamic_group_ids[0]");
  v1::Targets topo;
  topo.add_topo_nodes()->set_node_type("set");
  expect_invalid(to_targets(topo, "targets"), "targets.topo_nodes[0].id");
  topo.mutable_topo_nodes(0)->set_id(1);
  topo.mutable_topo_nodes(0)->clear_node_type();
  expect_invalid(to_targets(topo, "targets"), "targets.topo_nodes[0].node_type");
}

TEST(TargetsValidation, CopiesEverything) {
  v1::Targets t;
  t.add_host_ids(1);
  t.add_host_ids(2);
  auto* h = t.add_hosts();
  h->set_ip("192.0.2.7");
  h->set_cloud_id(4);
  t.add_dynamic_group_ids("dg");
  auto r = to_targets(t, "targets");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->host_ids, (std::vector<std::int64_t>{1, 2}));
  ASSERT_EQ(r->hosts.size(), 1u);
  EXPECT_EQ(r->hosts[0].ip, "192.0.2.7");
  EXPECT_EQ(r->hosts[0].cloud_id, 4);
  EXPECT_EQ(r->dynamic_group_ids, std::vector<std::string>{"dg"});
}

// ----- ExecuteScript ----------------------------------------------------------------------

TEST(ExecuteScriptValidation, ValidRequestMapsEveryField) {
  auto req = valid_script();
  req.set_script_param("--verbose");
  req.set_param_sensitive(true);
  req.set_timeout_seconds(60);
  req.set_account_alias("root");
  req.set_account_id(12);
  req.set_task_name("check");
  req.set_operator_("alice");
  req.mutable_targets()->add_hosts()->set_ip("192.0.2.1");
  auto r = to_execute_script(req);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->scope.type, "biz");
  EXPECT_EQ(r->scope.id, "2");
  EXPECT_EQ(r->script_content, "echo hello");
  EXPECT_EQ(r->script_language, 1);
  EXPECT_EQ(r->script_param, "--verbose");
  EXPECT_TRUE(r->param_sensitive);
  EXPECT_EQ(r->timeout_seconds, 60);
  EXPECT_EQ(r->account_alias, "root");
  EXPECT_EQ(r->account_id, 12);
  EXPECT_EQ(r->task_name, "check");
  EXPECT_EQ(r->operator_name, "alice");
  EXPECT_EQ(r->targets.host_ids, std::vector<std::int64_t>{101});
  ASSERT_EQ(r->targets.hosts.size(), 1u);
  EXPECT_TRUE(r->callback_url.empty());
}

TEST(ExecuteScriptValidation, ScriptSourceRequired) {
  auto req = valid_script();
  req.clear_script_content();
  expect_invalid(to_execute_script(req), "script_content", "exactly one");
}

TEST(ExecuteScriptValidation, ScriptIdAloneAccepted) {
  auto req = valid_script();
  req.clear_script_content();
  req.clear_script_language();
  req.set_script_id("abc");
  auto r = to_execute_script(req);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->script_id, "abc");
  EXPECT_TRUE(r->script_content.empty());
}

TEST(ExecuteScriptValidation, ScriptVersionIdAloneAccepted) {
  auto req = valid_script();
  req.clear_script_content();
  req.set_script_version_id(77);
  auto r = to_execute_script(req);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->script_version_id, 77);
}

TEST(ExecuteScriptValidation, TwoSourcesRejected) {
  auto req = valid_script();
  req.set_script_id("abc");
  expect_invalid(to_execute_script(req), "script_id", "script_content and script_id");
  auto req2 = valid_script();
  req2.clear_script_content();
  req2.set_script_id("abc");
  req2.set_script_version_id(3);
  expect_invalid(to_execute_script(req2), "script_version_id", "exactly one");
}

TEST(ExecuteScriptValidation, NegativeVersionRejected) {
  auto req = valid_script();
  req.clear_script_content();
  req.set_script_version_id(-3);
  expect_invalid(to_execute_script(req), "script_version_id", "positive");
}

TEST(ExecuteScriptValidation, LanguageRequiredWithContent) {
  auto req = valid_script();
  req.clear_script_language();
  expect_invalid(to_execute_script(req), "script_language", "required");
}

TEST(ExecuteScriptValidation, EveryKnownLanguageAccepted) {
  for (int lang = 1; lang <= 5; ++lang) {
    auto req = valid_script();
    req.set_script_language(static_cast<v1::ScriptLanguage>(lang));
    auto r = to_execute_script(req);
    ASSERT_TRUE(r.ok()) << lang;
    EXPECT_EQ(r->script_language, lang);
  }
}

TEST(ExecuteScriptValidation, UnknownLanguageRejected) {
  auto req = valid_script();
  req.set_script_language(static_cast<v1::ScriptLanguage>(6));
  expect_invalid(to_execute_script(req), "script_language", "unknown language 6");
  req.set_script_language(static_cast<v1::ScriptLanguage>(-1));
  expect_invalid(to_execute_script(req), "script_language");
}

TEST(ExecuteScriptValidation, TimeoutBounds) {
  for (int ok : {0, 1, 7200, 86400}) {
    auto req = valid_script();
    req.set_timeout_seconds(ok);
    EXPECT_TRUE(to_execute_script(req).ok()) << ok;
  }
  for (int bad : {-1, 86401, 1000000}) {
    auto req = valid_script();
    req.set_timeout_seconds(bad);
    expect_invalid(to_execute_script(req), "timeout_seconds", std::to_string(bad));
  }
}

TEST(ExecuteScriptValidation, TaskNameCountsCharactersNotBytes) {
  auto req = valid_script();
  req.set_task_name(std::string(512, 'a'));
  EXPECT_TRUE(to_execute_script(req).ok());
  req.set_task_name(std::string(513, 'a'));
  expect_invalid(to_execute_script(req), "task_name", "513");
  // 512 three-byte characters: 1536 bytes, still 512 characters.
  std::string wide;
  for (int i = 0; i < 512; ++i) wide += "\xE4\xBB\xBB";
  req.set_task_name(wide);
  EXPECT_TRUE(to_execute_script(req).ok());
  req.set_task_name(wide + "\xE4\xBB\xBB");
  expect_invalid(to_execute_script(req), "task_name");
}

TEST(ExecuteScriptValidation, TargetsRequiredAndNamed) {
  auto req = valid_script();
  req.clear_targets();
  expect_invalid(to_execute_script(req), "targets");
  auto req2 = valid_script();
  req2.mutable_targets()->add_hosts()->set_ip("192.0.2.1");
  req2.mutable_targets()->add_hosts()->set_ip("300.1.1.1");
  expect_invalid(to_execute_script(req2), "targets.hosts[1].ip",
                 "'300.1.1.1' is not an IPv4 or IPv6 address");
  auto req3 = valid_script();
  req3.mutable_targets()->add_hosts()->set_ip("::1");
  expect_invalid(to_execute_script(req3), "targets.hosts[0].host_id");
}

TEST(ExecuteScriptValidation, ScriptSizeLimit) {
  ValidationLimits limits;
  limits.max_script_bytes = 16;
  auto req = valid_script();
  req.set_script_content(std::string(16, 'x'));
  EXPECT_TRUE(to_execute_script(req, limits).ok());
  req.set_script_content(std::string(17, 'x'));
  auto r = to_execute_script(req, limits);
  expect_invalid(r, "script_content", "17 bytes exceeds the limit of 16");
  // The message never echoes the script.
  EXPECT_THAT(r.error().message, Not(HasSubstr("xxxx")));
}

TEST(ExecuteScriptValidation, DefaultScriptLimitIsOneMiB) {
  auto req = valid_script();
  req.set_script_content(std::string(1 << 20, 'x'));
  EXPECT_TRUE(to_execute_script(req).ok());
  req.set_script_content(std::string((1 << 20) + 1, 'x'));
  expect_invalid(to_execute_script(req), "script_content");
}

TEST(ExecuteScriptValidation, ParamSizeLimit) {
  ValidationLimits limits;
  limits.max_param_bytes = 8;
  auto req = valid_script();
  req.set_script_param("secret12");
  EXPECT_TRUE(to_execute_script(req, limits).ok());
  req.set_script_param("secret123");
  auto r = to_execute_script(req, limits);
  expect_invalid(r, "script_param", "9 bytes");
  EXPECT_THAT(r.error().message, Not(HasSubstr("secret")));
  auto req2 = valid_script();
  req2.set_script_param(std::string(64 << 10, 'p'));
  EXPECT_TRUE(to_execute_script(req2).ok());
  req2.set_script_param(std::string((64 << 10) + 1, 'p'));
  expect_invalid(to_execute_script(req2), "script_param");
}

TEST(ExecuteScriptValidation, NegativeAccountIdRejected) {
  auto req = valid_script();
  req.set_account_id(-1);
  expect_invalid(to_execute_script(req), "account_id");
}

// ----- TransferFile -----------------------------------------------------------------------

TEST(TransferFileValidation, ValidRequestMapsEveryField) {
  auto req = valid_transfer();
  req.mutable_sources(0)->set_account_alias("reader");
  req.mutable_sources(0)->set_account_id(4);
  req.mutable_sources(0)->add_files("C:\\logs\\b.log");
  req.set_account_alias("root");
  req.set_account_id(5);
  req.set_timeout_seconds(100);
  req.set_upload_limit_mb(10);
  req.set_download_limit_mb(20);
  req.set_transfer_mode(v1::TRANSFER_MODE_STRICT);
  req.set_task_name("copy");
  req.set_operator_("bob");
  auto r = to_transfer_file(req);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->sources.size(), 1u);
  EXPECT_EQ(r->sources[0].files, (std::vector<std::string>{"/data/a.log", "C:\\logs\\b.log"}));
  EXPECT_EQ(r->sources[0].servers.host_ids, std::vector<std::int64_t>{201});
  EXPECT_EQ(r->sources[0].account_alias, "reader");
  EXPECT_EQ(r->sources[0].account_id, 4);
  EXPECT_EQ(r->target_path, "/tmp/");
  EXPECT_EQ(r->targets.host_ids, std::vector<std::int64_t>{101});
  EXPECT_EQ(r->account_alias, "root");
  EXPECT_EQ(r->account_id, 5);
  EXPECT_EQ(r->timeout_seconds, 100);
  EXPECT_EQ(r->upload_limit_mb, 10);
  EXPECT_EQ(r->download_limit_mb, 20);
  EXPECT_EQ(r->transfer_mode, 1);
  EXPECT_EQ(r->task_name, "copy");
  EXPECT_EQ(r->operator_name, "bob");
}

TEST(TransferFileValidation, SourcesRequired) {
  auto req = valid_transfer();
  req.clear_sources();
  expect_invalid(to_transfer_file(req), "sources", "at least one");
}

TEST(TransferFileValidation, SourceFilesRequired) {
  auto req = valid_transfer();
  req.add_sources()->mutable_servers()->add_host_ids(1);
  expect_invalid(to_transfer_file(req), "sources[1].files", "at least one");
}

TEST(TransferFileValidation, SourcePathsMustBeAbsolute) {
  auto req = valid_transfer();
  req.mutable_sources(0)->add_files("relative/x.log");
  expect_invalid(to_transfer_file(req), "sources[0].files[1]", "'relative/x.log'");
  req.mutable_sources(0)->set_files(1, "");
  expect_invalid(to_transfer_file(req), "sources[0].files[1]");
}

TEST(TransferFileValidation, SourceServersRequired) {
  auto req = valid_transfer();
  req.mutable_sources(0)->clear_servers();
  expect_invalid(to_transfer_file(req), "sources[0].servers", "at least one");
  auto req2 = valid_transfer();
  req2.mutable_sources(0)->mutable_servers()->add_hosts()->set_ip("1.2.3");
  expect_invalid(to_transfer_file(req2), "sources[0].servers.hosts[0].ip");
}

TEST(TransferFileValidation, SourceAccountIdNotNegative) {
  auto req = valid_transfer();
  req.mutable_sources(0)->set_account_id(-9);
  expect_invalid(to_transfer_file(req), "sources[0].account_id");
}

TEST(TransferFileValidation, TargetPathRequiredAndAbsolute) {
  auto req = valid_transfer();
  req.clear_target_path();
  expect_invalid(to_transfer_file(req), "target_path", "required");
  req.set_target_path("tmp");
  expect_invalid(to_transfer_file(req), "target_path", "'tmp' is not an absolute path");
  req.set_target_path("D:/incoming");
  EXPECT_TRUE(to_transfer_file(req).ok());
}

TEST(TransferFileValidation, TargetsRequired) {
  auto req = valid_transfer();
  req.clear_targets();
  expect_invalid(to_transfer_file(req), "targets");
}

TEST(TransferFileValidation, LimitsNotNegative) {
  auto req = valid_transfer();
  req.set_upload_limit_mb(-1);
  expect_invalid(to_transfer_file(req), "upload_limit_mb");
  req.set_upload_limit_mb(0);
  req.set_download_limit_mb(-1);
  expect_invalid(to_transfer_file(req), "download_limit_mb");
  req.set_download_limit_mb(0);
  EXPECT_TRUE(to_transfer_file(req).ok());
}

TEST(TransferFileValidation, TimeoutTaskNameModeAccount) {
  auto req = valid_transfer();
  req.set_timeout_seconds(86401);
  expect_invalid(to_transfer_file(req), "timeout_seconds");
  req = valid_transfer();
  req.set_task_name(std::string(513, 'n'));
  expect_invalid(to_transfer_file(req), "task_name");
  req = valid_transfer();
  req.set_transfer_mode(static_cast<v1::TransferMode>(3));
  expect_invalid(to_transfer_file(req), "transfer_mode");
  req = valid_transfer();
  req.set_account_id(-1);
  expect_invalid(to_transfer_file(req), "account_id");
}

TEST(AbsolutePath, Forms) {
  EXPECT_TRUE(is_absolute_path("/"));
  EXPECT_TRUE(is_absolute_path("/data/x"));
  EXPECT_TRUE(is_absolute_path("C:\\x"));
  EXPECT_TRUE(is_absolute_path("c:/x"));
  EXPECT_FALSE(is_absolute_path(""));
  EXPECT_FALSE(is_absolute_path("x"));
  EXPECT_FALSE(is_absolute_path("./x"));
  EXPECT_FALSE(is_absolute_path("C:x"));
  EXPECT_FALSE(is_absolute_path("1:\\x"));
}

TEST(Utf8Length, CountsCodePoints) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("\xE4\xBB\xBB\xE5\x8A\xA1"), 2u);
  EXPECT_EQ(utf8_length("\xF0\x9F\x98\x80"), 1u);
}

// ----- job RPCs ---------------------------------------------------------------------------

TEST(JobRpcValidation, JobInstanceIdMustBePositive) {
  for (std::int64_t bad : {0, -5}) {
    v1::GetJobStatusRequest status;
    status.mutable_scope()->set_id("1");
    status.set_job_instance_id(bad);
    expect_invalid(to_job_status(status), "job_instance_id", std::to_string(bad));
    v1::TerminateJobRequest term;
    term.mutable_scope()->set_id("1");
    term.set_job_instance_id(bad);
    expect_invalid(to_terminate(term), "job_instance_id");
    v1::WatchStatusRequest watch;
    watch.mutable_scope()->set_id("1");
    watch.set_job_instance_id(bad);
    expect_invalid(to_watch(watch), "job_instance_id");
    v1::GetIpLogsRequest logs;
    logs.mutable_scope()->set_id("1");
    logs.set_job_instance_id(bad);
    expect_invalid(to_ip_logs(logs), "job_instance_id");
  }
}

TEST(JobRpcValidation, StatusMaps) {
  v1::GetJobStatusRequest req;
  req.mutable_scope()->set_id("3");
  req.mutable_scope()->set_type("biz_set");
  req.set_job_instance_id(42);
  req.set_operator_("op");
  auto r = to_job_status(req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->scope.type, "biz_set");
  EXPECT_EQ(r->scope.id, "3");
  EXPECT_EQ(r->job_instance_id, 42);
  EXPECT_TRUE(r->return_ip_result);
  EXPECT_EQ(r->operator_name, "op");
}

TEST(JobRpcValidation, TerminateIsOperationOne) {
  v1::TerminateJobRequest req;
  req.mutable_scope()->set_id("3");
  req.set_job_instance_id(42);
  req.set_operator_("op");
  auto r = to_terminate(req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->operation_code, 1);
  EXPECT_EQ(r->job_instance_id, 42);
  EXPECT_EQ(r->operator_name, "op");
}

TEST(JobRpcValidation, WatchAfterSeqZeroMeansNone) {
  v1::WatchStatusRequest req;
  req.mutable_scope()->set_id("3");
  req.set_job_instance_id(42);
  auto fresh = to_watch(req);
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(fresh->after_seq.has_value());
  req.set_after_seq(17);
  auto resumed = to_watch(req);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->after_seq, std::optional<std::uint64_t>(17));
  EXPECT_EQ(resumed->job_instance_id, 42);
}

TEST(IpLogsValidation, StepAndHosts) {
  v1::GetIpLogsRequest req;
  req.mutable_scope()->set_id("3");
  req.set_job_instance_id(42);
  auto none = to_ip_logs(req);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->step_instance_id, 0);
  EXPECT_TRUE(none->host_ids.empty());
  EXPECT_TRUE(none->hosts.empty());

  req.set_step_instance_id(-1);
  expect_invalid(to_ip_logs(req), "step_instance_id");
  req.set_step_instance_id(9);
  req.add_host_ids(0);
  expect_invalid(to_ip_logs(req), "host_ids[0]");
  req.set_host_ids(0, 5);
  req.add_hosts()->set_ip("nope");
  expect_invalid(to_ip_logs(req), "hosts[0].ip", "'nope'");
  req.mutable_hosts(0)->set_ip("192.0.2.3");
  req.mutable_hosts(0)->set_cloud_id(2);
  req.set_operator_("op");
  auto r = to_ip_logs(req);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->step_instance_id, 9);
  EXPECT_EQ(r->host_ids, std::vector<std::int64_t>{5});
  ASSERT_EQ(r->hosts.size(), 1u);
  EXPECT_EQ(r->hosts[0].ip, "192.0.2.3");
  EXPECT_EQ(r->hosts[0].cloud_id, 2);
  EXPECT_EQ(r->operator_name, "op");
}

TEST(Messages, LongValuesAreCut) {
  v1::Host h;
  h.set_ip(std::string(1000, 'z'));
  auto r = to_host(h, "hosts[0]");
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.error().message.size(), 300u);
}

}  // namespace
}  // namespace jobgw::server

namespace jobgw::server {
namespace {

TEST(TargetLimit, ScriptTargetsBeyondMaxTargetsNameTheFieldAndLimit) {
  ValidationLimits limits;
  limits.max_targets = 3;
  auto req = valid_script();
  req.mutable_targets()->clear_host_ids();
  for (int i = 0; i < 3; ++i) req.mutable_targets()->add_host_ids(101 + i);
  EXPECT_TRUE(to_execute_script(req, limits).ok());
  req.mutable_targets()->add_dynamic_group_ids("group-1");
  auto refused = to_execute_script(req, limits);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, core::ErrorKind::kInvalidArgument);
  EXPECT_EQ(refused.error().message.rfind("targets:", 0), 0u) << refused.error().message;
  EXPECT_NE(refused.error().message.find("limits.max_targets (3)"), std::string::npos);
}

TEST(TargetLimit, TransferCountsTargetsAndEverySourcesServers) {
  auto req = valid_transfer();
  const std::size_t base = target_count(req);
  req.mutable_sources(0)->mutable_servers()->add_host_ids(150);
  req.mutable_sources(0)->mutable_servers()->add_host_ids(151);
  EXPECT_EQ(target_count(req), base + 2);
  ValidationLimits limits;
  limits.max_targets = base + 1;
  auto refused = to_transfer_file(req, limits);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("sources[].servers"), std::string::npos);
  limits.max_targets = base + 2;
  EXPECT_TRUE(to_transfer_file(req, limits).ok());
}

// ----- FollowLogs and ListJobs -------------------------------------------------------------

TEST(FollowValidation, HostsInOrderAfterSeqAndTheHostLimit) {
  v1::FollowLogsRequest r;
  r.mutable_scope()->set_id("2");
  r.set_job_instance_id(7);
  r.add_host_ids(101);
  r.add_hosts()->set_ip("10.0.0.1");
  r.set_after_seq(44);
  auto target = to_follow(r, 2);
  ASSERT_TRUE(target.ok()) << target.error().message;
  ASSERT_EQ(target->hosts.size(), 2u);
  EXPECT_EQ(target->hosts[0].host_id, 101);
  EXPECT_EQ(target->hosts[1].ip, "10.0.0.1");
  EXPECT_EQ(target->after_seq, std::optional<std::uint64_t>(44));
  expect_invalid(to_follow(r, 1), "host_ids", "at most 1 hosts");

  r.set_after_seq(0);
  EXPECT_FALSE(to_follow(r, 2)->after_seq.has_value());
  r.set_step_instance_id(-1);
  expect_invalid(to_follow(r, 2), "step_instance_id");
  r.set_step_instance_id(0);
  r.add_hosts()->set_ip("300.1.1.1");
  expect_invalid(to_follow(r, 5), "hosts[1].ip");
  r.clear_scope();
  expect_invalid(to_follow(r, 5), "scope.id");
}

TEST(ListValidation, DefaultsAndBounds) {
  v1::ListJobsRequest r;
  auto q = to_list_jobs(r);
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->scope.id.empty());
  EXPECT_EQ(q->page_size, kDefaultListPageSize);
  r.set_page_size(501);
  expect_invalid(to_list_jobs(r), "page_size", "got 501");
  r.set_page_size(-1);
  expect_invalid(to_list_jobs(r), "page_size");
  r.set_page_size(500);
  EXPECT_EQ(to_list_jobs(r)->page_size, 500u);
  r.set_state(static_cast<v1::JobStateFilter>(9));
  expect_invalid(to_list_jobs(r), "state");
  r.set_state(v1::JOB_STATE_FILTER_FAILED);
  r.mutable_scope()->set_type("nope");
  expect_invalid(to_list_jobs(r), "scope.type");
  r.mutable_scope()->set_type("");
  r.mutable_scope()->set_id("3");
  EXPECT_EQ(to_list_jobs(r)->scope.type, "biz");
  r.set_name_prefix(std::string(513, 'x'));
  expect_invalid(to_list_jobs(r), "name_prefix");
}

}  // namespace
}  // namespace jobgw::server
