#include "core/submit/request_fingerprint.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

namespace jobgw::core {
namespace {

ExecuteScriptRequest script() {
  ExecuteScriptRequest r;
  r.scope = Scope{"biz", "1"};
  r.script_content = "echo hi";
  r.script_language = kShell;
  r.targets.host_ids = {101, 102};
  r.task_name = "t";
  return r;
}

TransferFileRequest transfer() {
  TransferFileRequest r;
  r.scope = Scope{"biz", "1"};
  FileSource s;
  s.files = {"/tmp/a"};
  s.servers.host_ids = {101};
  r.sources.push_back(s);
  r.target_path = "/tmp/out/";
  r.targets.host_ids = {102};
  return r;
}

TEST(RequestFingerprint, IsAStableSha256Hex) {
  const std::string fp = fingerprint(script());
  EXPECT_EQ(fp.size(), 64u);
  EXPECT_EQ(fp.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(fp, fingerprint(script()));
  EXPECT_NE(fingerprint(transfer()), fp);
}

TEST(RequestFingerprint, EveryFieldTheCallerChoseChangesIt) {
  std::vector<std::function<void(ExecuteScriptRequest&)>> edits = {
      [](auto& r) { r.scope.id = "2"; },
      [](auto& r) { r.scope.type = "biz_set"; },
      [](auto& r) { r.script_content = "echo ho"; },
      [](auto& r) { r.script_language = kPython; },
      [](auto& r) { r.script_param = "-v"; },
      [](auto& r) { r.param_sensitive = true; },
      [](auto& r) { r.timeout_seconds = 60; },
      [](auto& r) { r.account_alias = "app"; },
      [](auto& r) { r.account_id = 3; },
      [](auto& r) {
        r.targets.host_ids = {102, 101};
      },
      [](auto& r) { r.targets.host_ids.push_back(103); },
      [](auto& r) {
        r.targets.hosts.push_back(Host{0, 0, "192.0.2.1"});
      },
      [](auto& r) { r.targets.dynamic_group_ids.push_back("g"); },
      [](auto& r) {
        r.targets.topo_nodes.push_back(TopoNode{5, "module"});
      },
      [](auto& r) { r.task_name = "u"; },
      [](auto& r) { r.operator_name = "bob"; },
      [](auto& r) { r.script_id = "s"; },
      [](auto& r) { r.script_version_id = 9; },
  };
  std::set<std::string> seen = {fingerprint(script())};
  for (const auto& edit : edits) {
    ExecuteScriptRequest r = script();
    edit(r);
    EXPECT_TRUE(seen.insert(fingerprint(r)).second) << "an edit left the fingerprint unchanged";
  }
}

TEST(RequestFingerprint, FieldBoundariesCannotBeShifted) {
  ExecuteScriptRequest a = script();
  ExecuteScriptRequest b = script();
  a.script_content = "echo a";
  a.script_param = "b";
  b.script_content = "echo ab";
  b.script_param = "";
  EXPECT_NE(fingerprint(a), fingerprint(b));
  // Bytes that are not UTF-8 are just bytes.
  a.script_content = std::string("\xff\xfe", 2);
  b.script_content = std::string("\xff\xfd", 2);
  EXPECT_NE(fingerprint(a), fingerprint(b));
}

TEST(RequestFingerprint, LeavesOutTheCallbackUrlJobgwChose) {
  ExecuteScriptRequest a = script();
  ExecuteScriptRequest b = script();
  b.callback_url = "http://127.0.0.1:8091/jobgw/v1/callback";
  EXPECT_EQ(fingerprint(a), fingerprint(b));
  TransferFileRequest c = transfer();
  TransferFileRequest d = transfer();
  d.callback_url = "http://elsewhere/";
  EXPECT_EQ(fingerprint(c), fingerprint(d));
}

TEST(RequestFingerprint, TransferFieldsChangeIt) {
  std::vector<std::function<void(TransferFileRequest&)>> edits = {
      [](auto& r) { r.sources[0].files.push_back("/tmp/b"); },
      [](auto& r) { r.sources[0].servers.host_ids = {103}; },
      [](auto& r) { r.sources[0].account_alias = "app"; },
      [](auto& r) { r.target_path = "/tmp/other/"; },
      [](auto& r) { r.targets.host_ids = {104}; },
      [](auto& r) { r.upload_limit_mb = 5; },
      [](auto& r) { r.download_limit_mb = 5; },
      [](auto& r) { r.transfer_mode = kTransferModeStrict; },
      [](auto& r) { r.timeout_seconds = 30; },
  };
  std::set<std::string> seen = {fingerprint(transfer())};
  for (const auto& edit : edits) {
    TransferFileRequest r = transfer();
    edit(r);
    EXPECT_TRUE(seen.insert(fingerprint(r)).second) << "an edit left the fingerprint unchanged";
  }
}

}  // namespace
}  // namespace jobgw::core
